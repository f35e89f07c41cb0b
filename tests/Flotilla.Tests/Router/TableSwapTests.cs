using System.Net;
using System.Net.Sockets;
using System.Text;
using Flotilla.Router;
using Flotilla.Router.Mirror;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Router;

/// <summary>
/// A request whose instance was picked from one routing table and that is forwarded after the next
/// table took that instance away and it was stopped. The window is made deterministic: under a
/// parallel run that mirrors writes, the router picks the instance and then reads the request's body
/// before forwarding it; a client that sends <c>Expect: 100-continue</c> learns when the router is
/// reading, and holds the body until the test has swapped the table and stopped the instance.
/// </summary>
public sealed class TableSwapTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(10);
    private readonly RouterHost _router = new();
    private TestBackend _x = null!;
    private TestBackend _b = null!;
    private TestBackend _candidate = null!;
    private int _port;

    public async Task InitializeAsync()
    {
        _x = await TestBackend.StartAsync("x");
        _b = await TestBackend.StartAsync("b");
        _candidate = await TestBackend.StartAsync("c");
        _port = await _router.AddServiceAsync("api", null);
    }

    public async Task DisposeAsync()
    {
        await _router.DisposeAsync();
        await _x.DisposeAsync();
        await _b.DisposeAsync();
        await _candidate.DisposeAsync();
    }

    private void Route(params RouteDestination[] destinations) => _router.Apply(new RoutingTable(
        new Dictionary<string, IReadOnlyList<RouteDestination>> { ["api"] = [.. destinations, new("c1", _candidate.Port, "v2")] },
        new Dictionary<string, TrafficSplit> { ["api"] = new("v2", 0) },
        new Dictionary<string, MirrorPolicy> { ["api"] = new("v2", 100, ["GET", "POST"], 64 * 1024, [], [], false, "run-1") }));

    [Fact]
    public async Task ARequestPickedJustBeforeATableSwap_ThatReachesAnInstanceAlreadyStopped_IsAnsweredByAnother()
    {
        // A fresh table: its first pick on the stable side is its first instance, x.
        Route(new("x", _x.Port, "v1"), new("b", _b.Port, "v1"));
        using var client = new TcpClient();
        await client.ConnectAsync(IPAddress.Loopback, _port).WaitAsync(Wait);
        var stream = client.GetStream();
        stream.ReadTimeout = (int)Wait.TotalMilliseconds;
        await stream.WriteAsync(Encoding.ASCII.GetBytes("POST / HTTP/1.1\r\nHost: api\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
        Assert.StartsWith("HTTP/1.1 100", await ReadHeadAsync(stream), StringComparison.Ordinal);

        // Picked, not yet in flight: the swap takes x away, its drain finds nothing to wait for, and it is stopped.
        Route(new RouteDestination("b", _b.Port, "v1"));
        Assert.True(await _router.WaitForDrainAsync("x", TimeSpan.Zero));
        await _x.DisposeAsync();

        await stream.WriteAsync(Encoding.ASCII.GetBytes("order"));
        var head = await ReadHeadAsync(stream);
        Assert.StartsWith("HTTP/1.1 200", head, StringComparison.Ordinal);
        Assert.Equal("b", await ReadBodyAsync(stream, head));
        Assert.Equal((0, 1), (_x.Requests, _b.Requests));
    }

    /// <summary>The status line and headers of the next answer on the connection.</summary>
    private static async Task<string> ReadHeadAsync(NetworkStream stream)
    {
        var head = new StringBuilder();
        var one = new byte[1];
        using var timeout = new CancellationTokenSource(Wait);
        while (!head.ToString().EndsWith("\r\n\r\n", StringComparison.Ordinal))
        {
            if (await stream.ReadAsync(one, timeout.Token) == 0)
            {
                throw new IOException($"the router closed the connection after: {head}");
            }
            head.Append((char)one[0]);
        }
        return head.ToString();
    }

    /// <summary>The body of the answer whose head was read: by its length, or its chunks.</summary>
    private static async Task<string> ReadBodyAsync(NetworkStream stream, string head)
    {
        var lines = head.Split("\r\n");
        if (lines.FirstOrDefault(l => l.StartsWith("Content-Length:", StringComparison.OrdinalIgnoreCase)) is { } length)
        {
            var body = new byte[int.Parse(length["Content-Length:".Length..].Trim(), System.Globalization.CultureInfo.InvariantCulture)];
            await stream.ReadExactlyAsync(body).AsTask().WaitAsync(Wait);
            return Encoding.UTF8.GetString(body);
        }
        Assert.Contains(lines, l => l.Equals("Transfer-Encoding: chunked", StringComparison.OrdinalIgnoreCase));
        var text = new StringBuilder();
        while (true)
        {
            var size = Convert.ToInt32((await ReadLineAsync(stream)).Split(';')[0], 16);
            var chunk = new byte[size + 2];
            await stream.ReadExactlyAsync(chunk).AsTask().WaitAsync(Wait);
            if (size == 0)
            {
                return text.ToString();
            }
            text.Append(Encoding.UTF8.GetString(chunk, 0, size));
        }
    }

    private static async Task<string> ReadLineAsync(NetworkStream stream)
    {
        var line = new StringBuilder();
        var one = new byte[1];
        while (!line.ToString().EndsWith("\r\n", StringComparison.Ordinal))
        {
            await stream.ReadExactlyAsync(one).AsTask().WaitAsync(Wait);
            line.Append((char)one[0]);
        }
        return line.ToString()[..^2];
    }
}
