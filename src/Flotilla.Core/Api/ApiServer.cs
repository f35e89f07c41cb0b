using Flotilla.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;

namespace Flotilla.Api;

/// <summary>
/// The control plane's HTTP API (versioned under /v1, OpenAPI at /v1/openapi.json): what the
/// CLI, CI pipelines and dashboards talk to. Listens on loopback unless told otherwise.
/// </summary>
public sealed class ApiServer : IAsyncDisposable
{
    public const long MaxBodyBytes = 1024 * 1024;
    private readonly WebApplication _app;
    private readonly TaskCompletionSource<bool> _shutdown = new(TaskCreationOptions.RunContinuationsAsynchronously);

    private ApiServer(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    /// <summary>Every route the app answers (from ASP.NET's endpoint data sources): what a conformance test must walk, so none is forgotten.</summary>
    public IReadOnlyList<Microsoft.AspNetCore.Routing.RouteEndpoint> Routes =>
        [.. ((Microsoft.AspNetCore.Routing.IEndpointRouteBuilder)_app).DataSources.SelectMany(d => d.Endpoints).OfType<Microsoft.AspNetCore.Routing.RouteEndpoint>()];

    /// <summary>Completes when a client asks the server to exit; true when it asked to stop the data plane too.</summary>
    public Task<bool> ShutdownRequested => _shutdown.Task;

    /// <summary>An API for one control plane only (it cannot start other environments).</summary>
    public static Task<ApiServer> StartAsync(ControlPlane plane, System.Net.IPEndPoint listen, CancellationToken cancellationToken = default) =>
        StartAsync(ControlPlanes.Of(plane), listen, cancellationToken);

    /// <param name="federations">The environments run over clusters (null: none can be; a spec with clusters is refused by the control plane).</param>
    public static Task<ApiServer> StartAsync(ControlPlanes planes, System.Net.IPEndPoint listen, CancellationToken cancellationToken = default, Federation.Federations? federations = null) =>
        StartAsync(planes, listen, null, cancellationToken, federations);

    /// <param name="certificate">Serves HTTPS with it (TLS 1.2 or later); null: plain HTTP (<see cref="Tls.ApiTransport"/> decides which).</param>
    /// <param name="federations">The environments run over clusters (null: none can be; a spec with clusters is refused by the control plane).</param>
    public static async Task<ApiServer> StartAsync(ControlPlanes planes, System.Net.IPEndPoint listen, System.Security.Cryptography.X509Certificates.X509Certificate2? certificate, CancellationToken cancellationToken = default, Federation.Federations? federations = null)
    {
        var plane = planes.Root;
        var builder = Router.EmbeddedWebApp.CreateBuilder();
        // Only what went wrong reaches the server's output: an unexpected failure must never be silent.
        builder.Logging.AddSimpleConsole(o => o.SingleLine = true).SetMinimumLevel(LogLevel.Warning);
        builder.Services.AddSingleton(planes);
        builder.Services.AddSingleton<IControlPlaneBinder>(new ControlPlaneBinder(planes, federations));

        builder.Services.AddOpenApi("v1", o => o.AddDocumentTransformer((doc, _, _) =>
        {
            doc.Info.Title = "Flotilla control plane";
            doc.Info.Description = "Desired state, revisions, instances, events and audit of one system, per environment (header X-Flotilla-Environment; none: the server's first). Bearer token: role read for GET, admin for everything else.";
            return Task.CompletedTask;
        }));
        builder.WebHost.UseKestrel(k =>
        {
            k.Listen(listen, o =>
            {
                if (certificate is not null)
                {
                    o.UseHttps(certificate);
                }
            });
            k.Limits.MaxRequestBodySize = MaxBodyBytes;
            k.AddServerHeader = false;
        });
        var app = builder.Build();
        var server = new ApiServer(app);
        app.Use(async (context, next) =>
        {
            try
            {
                await ApiAuth.CheckAsync(context, () => next(context), plane.Store);
            }
            catch (Exception e) when (!context.Response.HasStarted && e is not OperationCanceledException)
            {
                context.Response.Clear();
                await ApiErrors.For(e).ExecuteAsync(context);
                if (context.Response.StatusCode >= 500)
                {
                    plane.Events.Record("api", $"{context.Request.Method} {context.Request.Path} failed: {e.GetType().Name}: {e.Message}", warning: true);
                }
            }
        });
        app.MapOpenApi("/{documentName}/openapi.json");
        app.MapGet("/healthz", () => Results.Text("ok\n"));
        ApiEndpoints.Map(app, planes, server._shutdown, federations);
        Dashboard.DashboardAssets.Map(app);
        await app.StartAsync(cancellationToken);
        var address = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.First();
        server.Url = address.Replace("[::]", "127.0.0.1", StringComparison.Ordinal);
        return server;
    }

    /// <summary>The environment a request names in its header, or null.</summary>
    public static string? EnvironmentOf(HttpContext context) =>
        context.Request.Headers[ControlPlanes.EnvironmentHeader].ToString() is { Length: > 0 } name ? name : null;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(TimeSpan.FromSeconds(5));
        await _app.DisposeAsync();
    }
}
