using System.Net;
using System.Net.Sockets;
using System.Text;
using Flotilla.Router;
using Flotilla.Router.Mirror;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Router;

/// <summary>
/// A request whose instance was picked from one routing table and that is forwarded after the next
/// table took that instance away (and, when its drain timed out, stopped it). The window is made deterministic: under a
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
    private readonly List<TcpClient> _clients = [];

    public async Task InitializeAsync()
    {
        _x = await TestBackend.StartAsync("x");
        _b = await TestBackend.StartAsync("b");
        _candidate = await TestBackend.StartAsync("c");
        _port = await _router.AddServiceAsync("api", null);
    }

    public async Task DisposeAsync()
    {
        _clients.ForEach(c => c.Dispose());
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
    public async Task ARequestPickedJustBeforeATableSwap_IsWaitedForByTheDrain_AndAnsweredByItsInstance()
    {
        var stream = await PickXAndHoldTheBodyAsync();

        // Picked, so in flight already: the swap takes x away, and its drain waits for this request.
        Route(new RouteDestination("b", _b.Port, "v1"));
        Assert.False(await _router.WaitForDrainAsync("x", TimeSpan.Zero), "the drain of x ended while a request picked for it was still coming");

        await stream.WriteAsync(Encoding.ASCII.GetBytes("order"));
        var head = await ReadHeadAsync(stream);
        Assert.StartsWith("HTTP/1.1 200", head, StringComparison.Ordinal);
        Assert.Equal("x", await ReadBodyAsync(stream, head));
        Assert.True(await _router.WaitForDrainAsync("x", Wait), "the drain of x did not end after its last request");
        Assert.Equal((1, 0), (_x.Requests, _b.Requests));
    }

    [Fact]
    public async Task ARequestPickedJustBeforeATableSwap_WhoseInstanceWasStoppedAfterItsDrainTimedOut_IsAnsweredByAnother()
    {
        var stream = await PickXAndHoldTheBodyAsync();

        // The drain gives up (timeouts.drain) and x is stopped while the request is still coming: its connection is refused.
        Route(new RouteDestination("b", _b.Port, "v1"));
        Assert.False(await _router.WaitForDrainAsync("x", TimeSpan.FromMilliseconds(50)));
        await _x.DisposeAsync();

        await stream.WriteAsync(Encoding.ASCII.GetBytes("order"));
        var head = await ReadHeadAsync(stream);
        Assert.StartsWith("HTTP/1.1 200", head, StringComparison.Ordinal);
        Assert.Equal("b", await ReadBodyAsync(stream, head));
        Assert.Equal((0, 1), (_x.Requests, _b.Requests));
    }

    /// <summary>A POST whose instance the router has picked (x, a fresh table's first) and whose body the client holds back.</summary>
    private async Task<NetworkStream> PickXAndHoldTheBodyAsync()
    {
        Route(new("x", _x.Port, "v1"), new("b", _b.Port, "v1"));
        var client = new TcpClient();
        _clients.Add(client);
        await client.ConnectAsync(IPAddress.Loopback, _port).WaitAsync(Wait);
        var stream = client.GetStream();
        stream.ReadTimeout = (int)Wait.TotalMilliseconds;
        await stream.WriteAsync(Encoding.ASCII.GetBytes("POST / HTTP/1.1\r\nHost: api\r\nContent-Type: text/plain\r\nContent-Length: 5\r\nExpect: 100-continue\r\n\r\n"));
        Assert.StartsWith("HTTP/1.1 100", await ReadHeadAsync(stream), StringComparison.Ordinal);
        return stream;
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
