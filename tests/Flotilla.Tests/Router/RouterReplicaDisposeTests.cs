using System.Net;
using System.Net.Sockets;
using Flotilla.Router;
using Flotilla.Router.Remote;

namespace Flotilla.Tests.Router;

/// <summary>
/// Disposing the feed of a router replica while its calls hang (the replica's machine stopped answering)
/// ends quietly. It used to throw the cancelled call, and a test's cleanup after it, which stops the
/// replica's process, never ran: the process outlived the test run.
/// </summary>
public sealed class RouterReplicaDisposeTests
{
    [Fact]
    public async Task DisposingWhileACallHangs_EndsQuietly()
    {
        // An admin port that takes connections and never answers.
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new List<Socket>();
        var accepting = Task.Run(async () =>
        {
            try
            {
                while (true)
                {
                    var socket = await silent.AcceptSocketAsync();
                    lock (accepted)
                    {
                        accepted.Add(socket);
                    }
                }
            }
            catch (Exception e) when (e is SocketException or ObjectDisposedException)
            {
                // The listener is stopped at the end of the test.
            }
        });
        var replica = new RouterReplica(new Uri($"http://127.0.0.1:{((IPEndPoint)silent.LocalEndpoint).Port}"), "secret", (_, _) => { });
        replica.Start();
        var table = new RoutingTable(new Dictionary<string, IReadOnlyList<RouteDestination>> { ["api"] = [new("a1", 1)] });
        // The table's push hangs; the loop, woken by the endpoint, hangs on its own call beside it.
        var applying = replica.ApplyAsync(table);
        replica.Want("api", 1);
        await Support.Eventually.Until(() =>
        {
            lock (accepted)
            {
                return accepted.Count >= 2;
            }
        }, TimeSpan.FromSeconds(10), "both calls to reach the silent replica");

        var disposing = replica.DisposeAsync().AsTask();
        Assert.Same(disposing, await Task.WhenAny(disposing, Task.Delay(TimeSpan.FromSeconds(10))));
        await disposing;
        await applying.WaitAsync(TimeSpan.FromSeconds(10));
        silent.Stop();
        await accepting.WaitAsync(TimeSpan.FromSeconds(10));
        lock (accepted)
        {
            accepted.ForEach(s => s.Dispose());
        }
    }
}
