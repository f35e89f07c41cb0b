using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Flotilla.Router.Remote;

/// <summary>
/// The router process's own Prometheus endpoint (<c>GET /metrics</c>, no token, as exporters are
/// scraped): the per-revision counts stay scrapable while the control plane restarts.
/// </summary>
public static class MetricsListener
{
    /// <summary>Serves until <paramref name="stopping"/>; a port that cannot be had is reported and the router serves on without it.</summary>
    public static async Task RunAsync(RouterHost router, ListenTarget listener, Action<string> report, CancellationToken stopping)
    {
        var endpoint = listener.Address;
        var builder = EmbeddedWebApp.CreateBuilder();
        builder.WebHost.UseKestrel(k => listener.ApplyTo(k));
        await using var app = builder.Build();
        app.MapGet("/metrics", async () => Results.Text(await router.PrometheusAsync(), "text/plain; version=0.0.4; charset=utf-8"));
        try
        {
            await app.StartAsync(stopping);
        }
        catch (IOException e)
        {
            report($"metrics listener on {endpoint} not started: {e.Message}");
            return;
        }
        report($"Prometheus metrics on http://{endpoint}/metrics");
        try
        {
            await Task.Delay(Timeout.Infinite, stopping);
        }
        catch (OperationCanceledException)
        {
        }
        await app.StopAsync(CancellationToken.None);
    }
}
