using System.Text.Json;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Flotilla.Router.Remote;

/// <summary>
/// The router process's admin API (loopback only, shared secret): the control plane opens
/// endpoints, pushes whole routing tables and waits for drains through it. The router keeps
/// serving the last table it got for as long as it runs, control plane or not.
/// </summary>
public static class RouterAdmin
{
    public const string SecretHeader = "X-Flotilla-Router-Secret";

    /// <summary>The flags' access key on PUT /admin/flags: a header, not the query, so no access log holds it.</summary>
    public const string FlagsAccessHeader = "X-Flotilla-Flags-Access";

    /// <summary>The body of PUT /admin/flags: the flagd document, with the access key in its header.</summary>
    public static HttpContent FlagsContent(string document, string? access)
    {
        var content = new StringContent(document, System.Text.Encoding.UTF8, "application/json");
        if (access is not null)
        {
            content.Headers.TryAddWithoutValidation(FlagsAccessHeader, access);
        }
        return content;
    }

    /// <summary>The environment variable that hands the router process its admin secret (not argv: ps shows that).</summary>
    public const string SecretVariable = "FLOTILLA_ROUTER_SECRET";
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    /// <summary>Serves the admin API for <paramref name="router"/> on <paramref name="listener"/> until <paramref name="stopping"/> fires.</summary>
    /// <param name="state">Where every change is recorded, for the worker that comes after this one.</param>
    /// <param name="reload">Starts a new router worker that takes over from this one (null: not a supervised router).</param>
    internal static async Task RunAsync(RouterHost router, ListenTarget listener, string secret, RouterStateFile? state, Func<Task>? reload, CancellationToken stopping)
    {
        var builder = EmbeddedWebApp.CreateBuilder();
        builder.WebHost.UseKestrel(k => listener.ApplyTo(k));
        await using var app = builder.Build();
        app.Use(async (context, next) =>
        {
            if (!context.Request.Headers.TryGetValue(SecretHeader, out var given) || !System.Security.Cryptography.CryptographicOperations.FixedTimeEquals(
                System.Text.Encoding.UTF8.GetBytes(given.ToString()), System.Text.Encoding.UTF8.GetBytes(secret)))
            {
                context.Response.StatusCode = StatusCodes.Status401Unauthorized;
                return;
            }
            await next(context);
            if ((HttpMethods.IsPut(context.Request.Method) || HttpMethods.IsDelete(context.Request.Method)) && context.Response.StatusCode < 300)
            {
                state?.Save(router);
            }
        });
        app.MapGet("/admin/state", () => Results.Json(new RouterState(router.Endpoints, router.Table, Environment.ProcessId, router.FlagsPort, router.FlagsDocument, router.FlagsAccess), Json));
        app.MapPut("/admin/flags", async (HttpRequest request, int? port, CancellationToken ct) =>
        {
            using var reader = new StreamReader(request.Body);
            var document = await reader.ReadToEndAsync(ct);
            try
            {
                var access = request.Headers[FlagsAccessHeader].ToString();
                return Results.Json(new { port = await router.ServeFlagsAsync(port, document, access.Length == 0 ? null : access, ct) }, Json);
            }
            catch (EndpointBindException e)
            {
                return Results.Json(new { error = e.Message }, Json, statusCode: StatusCodes.Status409Conflict);
            }
            catch (Exception e) when (e is InvalidOperationException or JsonException)
            {
                return Results.Json(new { error = e.Message }, Json, statusCode: StatusCodes.Status422UnprocessableEntity);
            }
        });
        app.MapDelete("/admin/flags", async () =>
        {
            await router.StopFlagsAsync();
            return Results.NoContent();
        });
        app.MapPut("/admin/endpoints/{service}", async (string service, int? port, CancellationToken ct) =>
        {
            try
            {
                return Results.Json(new { port = await router.AddServiceAsync(service, port, ct) }, Json);
            }
            catch (EndpointBindException e)
            {
                return Results.Json(new { error = e.Message }, Json, statusCode: StatusCodes.Status409Conflict);
            }
        });
        app.MapDelete("/admin/endpoints/{service}", async (string service) =>
        {
            await router.RemoveServiceAsync(service);
            return Results.NoContent();
        });
        app.MapPut("/admin/table", async (HttpRequest request) =>
        {
            var table = await JsonSerializer.DeserializeAsync<RoutingTable>(request.Body, Json, request.HttpContext.RequestAborted);
            router.Apply(table is null ? RoutingTable.Empty : Normalized(table));
            return Results.NoContent();
        });
        app.MapGet("/admin/parallel/{service}", (string service) => router.ParallelReport(service) is { } report ? Results.Json(report, Json) : Results.NotFound());
        app.MapGet("/admin/metrics", async () => Results.Text(await router.PrometheusAsync(), "text/plain; version=0.0.4; charset=utf-8"));
        app.MapPost("/admin/metrics/interval", async () => Results.Json((await router.TakeMetricsAsync()).Select(i => i.ToWire()), Json));
        app.MapPost("/admin/drain/{instance}", async (string instance, int timeoutMs, CancellationToken ct) =>
            Results.Json(new { drained = await router.WaitForDrainAsync(instance, TimeSpan.FromMilliseconds(timeoutMs), ct) }, Json));
        app.MapGet("/admin/demand", async (long after, int waitMs, CancellationToken ct) =>
            Results.Json(await router.WaitForDemandAsync(after, TimeSpan.FromMilliseconds(Math.Clamp(waitMs, 0, 30_000)), ct), Json));
        app.MapPost("/admin/reload", async () =>
        {
            if (reload is null)
            {
                return Results.Json(new { error = "this router runs without a supervisor: nothing can take over from it" }, Json, statusCode: StatusCodes.Status409Conflict);
            }
            await reload();
            return Results.Accepted();
        });
        await app.StartAsync(stopping);
        try
        {
            await Task.Delay(Timeout.Infinite, stopping);
        }
        catch (OperationCanceledException)
        {
        }
        await app.StopAsync(CancellationToken.None);
    }

    /// <summary>Ordinal dictionaries, as the router builds its own (JSON gives default comparers).</summary>
    internal static RoutingTable Normalized(RoutingTable table) => new(
        table.Services.ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal),
        table.SplitsOrEmpty.ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal),
        table.MirrorsOrEmpty.ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal),
        table.FunctionsOrEmpty.ToDictionary(s => s.Key, s => s.Value, StringComparer.Ordinal));
}

/// <summary>What a router process serves right now.</summary>
public sealed record RouterState(IReadOnlyDictionary<string, int> Endpoints, RoutingTable Table, int Pid, int? FlagsPort = null, string? FlagsDocument = null, string? FlagsAccess = null);
