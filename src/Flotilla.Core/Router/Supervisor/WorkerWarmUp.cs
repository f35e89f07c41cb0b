using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Flotilla.Router.Supervisor;

/// <summary>
/// A worker started by a reload runs requests through a throwaway endpoint of its own before it
/// takes any real one, so the request path is compiled (and tiered up) while the old worker still
/// serves: the clients that move over on the old worker's retirement meet a warm process. A worker
/// that replaces a dead one skips this: connections are waiting.
/// </summary>
internal static class WorkerWarmUp
{
    private static readonly TimeSpan Budget = TimeSpan.FromMilliseconds(600);
    private const int Connections = 2;

    public static async Task RunAsync(CancellationToken cancellationToken)
    {
        var builder = EmbeddedWebApp.CreateBuilder();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, 0));
        await using var backend = builder.Build();
        backend.Run(context => context.Response.WriteAsync("warm", context.RequestAborted));
        var backendPort = await EmbeddedWebApp.ListenAsync(backend, new ListenTarget(new IPEndPoint(IPAddress.Loopback, 0)), () => new IOException("no port for the warm-up"), cancellationToken);
        await using var router = new RouterHost();
        var port = await router.AddServiceAsync("warm-up", null, cancellationToken);
        router.Apply(new RoutingTable(new Dictionary<string, IReadOnlyList<RouteDestination>>(StringComparer.Ordinal) { ["warm-up"] = [new("warm-up", backendPort, "warm-up")] }));
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        using var budget = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        budget.CancelAfter(Budget);
        var url = $"http://127.0.0.1:{port}/";
        await Task.WhenAll(Enumerable.Range(0, Connections).Select(_ => Task.Run(async () =>
        {
            while (!budget.IsCancellationRequested)
            {
                try
                {
                    using var response = await client.GetAsync(url, budget.Token);
                }
                catch (Exception e) when (e is OperationCanceledException or HttpRequestException)
                {
                }
            }
        }, CancellationToken.None)));
        await backend.StopAsync(CancellationToken.None);
    }
}
