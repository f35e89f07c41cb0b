using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Flotilla.Tests.Kubernetes;

/// <summary>
/// What answers for the pods of <see cref="FakeApiServer"/> (all "Ready at 127.0.0.1"): a listener on
/// 127.0.0.1 whose port the control plane is given as the pods' port (<c>KubernetesTarget.ContainerPort</c>),
/// so Flotilla's probes and router reach it as they would reach a pod's IP. Counts what it served.
/// </summary>
internal sealed class PodListener : IAsyncDisposable
{
    public const string Answer = "served by the pod listener";
    private readonly WebApplication _app;
    private int _served;

    private PodListener(WebApplication app) => _app = app;

    public int Port { get; private set; }

    public int Served => Volatile.Read(ref _served);

    public static async Task<PodListener> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var listener = new PodListener(app);
        app.Run(context =>
        {
            Interlocked.Increment(ref listener._served);
            return context.Response.WriteAsync(Answer);
        });
        await app.StartAsync();
        listener.Port = new Uri(app.Urls.Single()).Port;
        return listener;
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
