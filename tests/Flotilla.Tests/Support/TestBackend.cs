using System.Net;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Flotilla.Tests.Support;

/// <summary>
/// A real HTTP server on 127.0.0.1 that answers with its name; /slow waits before answering;
/// /held answers only once the test calls <see cref="Release"/>, so a request is in flight for as long as the test needs.
/// </summary>
public sealed class TestBackend : IAsyncDisposable
{
    private readonly WebApplication _app;

    private TestBackend(string name, WebApplication app)
    {
        Name = name;
        _app = app;
    }

    private readonly TaskCompletionSource _heldArrived = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly TaskCompletionSource _release = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private int _heldAnswered;

    public string Name { get; }
    public int Port { get; private set; }
    public int Requests;

    /// <summary>Completes when a request to /held has arrived.</summary>
    public Task HeldArrived => _heldArrived.Task;

    /// <summary>Requests to /held that were answered.</summary>
    public int HeldAnswered => Volatile.Read(ref _heldAnswered);

    /// <summary>Lets requests to /held be answered.</summary>
    public void Release() => _release.TrySetResult();

    /// <param name="routes">More routes for a test's own answers.</param>
    /// <param name="port">A given port (e.g. one an instance had before it came back), else one the kernel picks.</param>
    public static async Task<TestBackend> StartAsync(string name, Action<WebApplication>? routes = null, int port = 0)
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.Logging.ClearProviders();
        builder.WebHost.UseKestrel(k => k.Listen(IPAddress.Loopback, port));
        var app = builder.Build();
        var backend = new TestBackend(name, app);
        app.MapGet("/", () => { Interlocked.Increment(ref backend.Requests); return name; });
        app.MapPost("/", () => { Interlocked.Increment(ref backend.Requests); return name; });
        app.MapGet("/slow", async () => { await Task.Delay(500); return name; });
        app.MapGet("/held", async () =>
        {
            backend._heldArrived.TrySetResult();
            await backend._release.Task;
            Interlocked.Increment(ref backend._heldAnswered);
            return name;
        });
        routes?.Invoke(app);
        await app.StartAsync();
        backend.Port = new Uri(app.Services.GetRequiredService<IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First()).Port;
        return backend;
    }

    public async ValueTask DisposeAsync()
    {
        Release();
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}
