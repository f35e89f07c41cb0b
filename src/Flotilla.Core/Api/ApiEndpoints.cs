using System.Text;
using System.Text.Json;
using Flotilla.Events;
using Flotilla.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Flotilla.Api;

/// <summary>The routes of /v1. Handlers are thin: parse, call the control plane, shape the answer.</summary>
internal static class ApiEndpoints
{
    public static void Map(WebApplication app, ControlPlanes planes, TaskCompletionSource<bool> shutdown, Federation.Federations? federations = null)
    {
        var v1 = app.MapGroup("/v1");
        v1.MapGet("/status", (ControlPlane plane) => Results.Json(SystemView.From(plane.Status()), ApiJson.Options)).WithSummary("The system: services, instances, zones, revision.");
        v1.MapGet("/status/stream", (HttpContext context, ControlPlane plane) => StatusStream.WriteAsync(context, plane, TimeProvider.System))
            .WithSummary("The system and the releases under way as Server-Sent Events (event: status): now, then whenever it changes.");
        v1.MapGet("/whoami", (HttpContext context) => Results.Json(CallerView.Of(ApiAuth.Caller(context)), ApiJson.Options))
            .WithSummary("The token's name, role (viewer, deployer, admin, operator), its tenant (none: server-wide) and the tenant the request acts in: what a client may offer its user.");
        v1.MapGet("/instances", (ControlPlane plane) => Results.Json(plane.Status().Services.SelectMany(s => s.Instances).Select(InstanceView.From), ApiJson.Options)).WithSummary("Every instance, like ps.");
        v1.MapGet("/diff", (ControlPlane plane) => Results.Json(plane.Diff(), ApiJson.Options)).WithSummary("Desired state against what runs, per service.");
        v1.MapGet("/revisions", (int? limit, string? environment, ControlPlane plane) => Results.Json(plane.Store.Revisions(Math.Clamp(limit ?? 50, 1, 1000), environment)
            .Select(r => new RevisionSummary(r.Number, r.CreatedAt, r.Actor, r.Environment, r.SpecFile, r.GitCommit, r.Summary)), ApiJson.Options))
            .WithSummary("Applied revisions, newest first (?environment=: only those of one environment).");
        v1.MapGet("/revisions/{number:long}", (long number, ControlPlane plane) => plane.Store.Revision(number) is { } r
            ? Results.Json(new RevisionDetail(r.Number, r.CreatedAt, r.Actor, r.Environment, r.SpecFile, r.GitCommit, r.Summary, r.SpecYaml), ApiJson.Options)
            : ApiErrors.Result(StatusCodes.Status404NotFound, $"no revision {number}", $"the latest is {plane.Store.LatestRevisionNumber}"));
        v1.MapPost("/revisions/{number:long}/apply", async (long number, HttpContext context, ControlPlane plane) =>
        {
            var record = await plane.ReapplyAsync(number, ApiAuth.Actor(context), context.RequestAborted);
            return Results.Json(new ApplyResponse(record.Number, false, record.Summary), ApiJson.Options, statusCode: StatusCodes.Status201Created);
        }).WithSummary("Makes an earlier revision's desired state the desired state again, as a new revision (nothing rebuilt).");
        v1.MapGet("/audit", (int? limit, HttpContext context, ControlPlane plane) => Results.Json(plane.Store.Audit(Math.Clamp(limit ?? 100, 1, 10_000), ApiAuth.Caller(context).AuditScope), ApiJson.Options))
            .WithSummary("Who changed what in this environment, newest first.");
        v1.MapGet("/events", EventsAsync).WithSummary("Events after ?since=; ?follow=true streams them as Server-Sent Events.");
        v1.MapGet("/services/{service}/logs", LogsAsync).WithSummary("Instance logs of a service (?instance=, ?tail=, ?follow=true).");

        v1.MapPost("/apply", async (HttpContext context) =>
        {
            var body = await ReadAsync<ApplyBody>(context);
            if (string.IsNullOrEmpty(body.Spec) || string.IsNullOrEmpty(body.File) || !Path.IsPathFullyQualified(body.File))
            {
                return ApiErrors.Result(StatusCodes.Status400BadRequest, "apply needs 'spec' (the YAML text) and 'file' (its absolute path on the server's machine)");
            }
            var named = ApiServer.EnvironmentOf(context);
            if (named is not null && body.Environment is not null && named != body.Environment)
            {
                return ApiErrors.Result(StatusCodes.Status400BadRequest, $"the request names environment '{named}' but the apply is for '{body.Environment}'");
            }
            if (federations is not null && await FederationEndpoints.ApplyAsync(context, planes, federations, body, body.Environment ?? named) is { } federated)
            {
                return federated;
            }
            var plane = await planes.ForAsync(ApiAuth.Tenant(context), body.Environment ?? named, create: true, context.RequestAborted);
            var result = await plane.ApplyAsync(new ApplyRequest(body.Spec, body.File, body.Environment ?? named, body.BasedOn, ApiAuth.Actor(context), body.GitCommit),
                cancellationToken: context.RequestAborted);
            return Results.Json(new ApplyResponse(result.Revision.Number, result.Unchanged, result.Revision.Summary, result.Warnings.Select(w => w.ToString()).ToList()), ApiJson.Options,
                statusCode: result.Unchanged ? StatusCodes.Status200OK : StatusCodes.Status201Created);
        }).WithSummary("Makes a spec the desired state as a new revision (409 when basedOn is stale, 422 when invalid).");
        v1.MapPost("/services/{service}/scale", async (string service, HttpContext context, ControlPlane plane) =>
        {
            var body = await ReadAsync<ScaleBody>(context);
            if (body.Instances is not { } instances)
            {
                return ApiErrors.Result(StatusCodes.Status400BadRequest, "scale needs 'instances'");
            }
            await plane.ScaleAsync(service, instances, ApiAuth.Actor(context));
            return Results.NoContent();
        });
        MapAction(v1, "/services/{service}/stop", (plane, service, actor) => plane.StopServiceAsync(service, actor));
        MapAction(v1, "/services/{service}/start", (plane, service, actor) => plane.StartServiceAsync(service, actor));
        v1.MapGet("/services/{service}/rollout", (string service, ControlPlane plane) => Results.Json(plane.Rollout(service), ApiJson.Options))
            .WithSummary("A service's rollout: desired revision, new/old/ready counts, state, what it waits on, the last result.");
        v1.MapGet("/services/{service}/rollout/history", (string service, ControlPlane plane) => Results.Json(plane.RolloutHistory(service), ApiJson.Options))
            .WithSummary("The system revisions in which this service's revision changed, newest first.");
        MapAction(v1, "/services/{service}/rollout/pause", (plane, service, actor) => plane.PauseRolloutAsync(service, actor));
        MapAction(v1, "/services/{service}/rollout/resume", (plane, service, actor) => plane.ResumeRolloutAsync(service, actor));
        v1.MapPost("/services/{service}/rollout/undo", async (string service, HttpContext context, ControlPlane plane) =>
        {
            var body = context.Request.ContentLength is 0 or null ? new UndoBody(null) : await ReadAsync<UndoBody>(context);
            var record = await plane.UndoRolloutAsync(service, body.ToRevision, ApiAuth.Actor(context));
            return Results.Json(new ApplyResponse(record.Number, false, record.Summary), ApiJson.Options, statusCode: StatusCodes.Status201Created);
        }).WithSummary("Runs an earlier revision of the service again (default: the one before), as a new system revision; nothing is rebuilt.");
        v1.MapPost("/services/{service}/rollout/promote", async (string service, bool? full, HttpContext context, ControlPlane plane) =>
            Results.Json(await plane.PromoteReleaseAsync(service, full ?? false, ApiAuth.Actor(context)), ApiJson.Options))
            .WithSummary("Canary: the next step (full=true: all traffic now, analyses skipped). Blue-green: switch now.");
        v1.MapPost("/services/{service}/rollout/abort", async (string service, HttpContext context, ControlPlane plane) =>
            Results.Json(await plane.AbortReleaseAsync(service, ApiAuth.Actor(context)), ApiJson.Options))
            .WithSummary("All traffic back to the stable revision, the new one scaled down (Degraded until the next apply or retry).");
        v1.MapPost("/services/{service}/rollout/retry", async (string service, HttpContext context, ControlPlane plane) =>
            Results.Json(await plane.RetryReleaseAsync(service, ApiAuth.Actor(context)), ApiJson.Options))
            .WithSummary("Starts an aborted canary or blue-green release again from its first step.");
        v1.MapGet("/services/{service}/parallel", async (string service, ControlPlane plane) => Results.Json(await plane.ParallelReportAsync(service), ApiJson.Options))
            .WithSummary("A parallel run's comparison: requests compared, mismatches and their rate, the fields that differ most with an example, the noise, candidate errors, latency of both.");
        v1.MapGet("/metrics", async (ControlPlane plane) => Results.Text(await plane.PrometheusAsync(), "text/plain; version=0.0.4; charset=utf-8"))
            .WithSummary("The router's request counts by status class and latency histograms per service and revision (Prometheus text format).");
        FlagEndpoints.Map(v1);
        GitOpsEndpoints.Map(v1);
        EnvironmentEndpoints.Map(v1, planes);
        if (federations is not null)
        {
            FederationEndpoints.Map(v1, federations);
        }
        ConfigEndpoints.Map(v1);
        RouterEndpoints.Map(v1);
        QueueEndpoints.Map(v1);
        DatabaseEndpoints.Map(v1);
        foreach (var state in new[] { "down", "up" })
        {
            v1.MapPost($"/zones/{{zone}}/{state}", async (string zone, HttpContext context, ControlPlane plane) =>
            {
                await plane.SetZoneAsync(zone, state == "down", ApiAuth.Actor(context));
                return Results.NoContent();
            }).WithSummary(state == "down" ? "Marks a zone down: its instances are re-placed in the others." : "Marks a zone up: the spread is restored.");
        }
        TokenEndpoints.Map(v1, planes);
        TenantEndpoints.Map(v1, planes);
        v1.MapPost("/shutdown", async (HttpContext context) =>
        {
            var body = await ReadAsync<ShutdownBody>(context);
            planes.Root.Store.AddAudit(ApiAuth.Actor(context), "shutdown", body.StopDataPlane ? "control plane and data plane" : "control plane only", DateTimeOffset.UtcNow);
            shutdown.TrySetResult(body.StopDataPlane);
            return Results.Accepted();
        }).WithSummary("Exits the server; with stopDataPlane also drains and stops every instance and the router.");
    }

    /// <summary>A POST that does one thing to a service as the caller and answers 204.</summary>
    private static void MapAction(RouteGroupBuilder group, string pattern, Func<ControlPlane, string, string, Task> action) =>
        group.MapPost(pattern, async (string service, HttpContext context, ControlPlane plane) =>
        {
            await action(plane, service, ApiAuth.Actor(context));
            return Results.NoContent();
        });

    internal static async Task<T> ReadAsync<T>(HttpContext context)
    {
        if (context.Request.ContentLength is 0 || (context.Request.ContentLength is null && !context.Request.Body.CanRead))
        {
            throw new JsonException("the request has no body; send JSON");
        }
        return await JsonSerializer.DeserializeAsync<T>(context.Request.Body, ApiJson.Options, context.RequestAborted)
            ?? throw new JsonException("the body is JSON null; send an object");
    }

    private static async Task EventsAsync(HttpContext context, ControlPlane plane, long? since, int? limit, bool? follow)
    {
        var last = since ?? 0;
        var backlog = plane.Store.Events(last, Math.Clamp(limit ?? 1000, 1, 100_000));
        if (follow != true)
        {
            await context.Response.WriteAsJsonAsync(backlog, ApiJson.Options);
            return;
        }
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        var aborted = context.RequestAborted;
        try
        {
            while (!aborted.IsCancellationRequested)
            {
                var recorded = plane.Events.Recorded;
                foreach (var e in backlog)
                {
                    await context.Response.WriteAsync($"id: {e.Sequence}\nevent: event\ndata: {JsonSerializer.Serialize(e, ApiJson.Options)}\n\n", aborted);
                    last = e.Sequence;
                }
                await context.Response.Body.FlushAsync(aborted);
                // A comment line every 15 s keeps proxies from closing an idle stream.
                if (await Task.WhenAny(recorded, Task.Delay(TimeSpan.FromSeconds(15), aborted)) != recorded)
                {
                    await context.Response.WriteAsync(": keep-alive\n\n", aborted);
                }
                backlog = plane.Events.Since(last);
            }
        }
        catch (OperationCanceledException)
        {
            // The client went away.
        }
    }

    private static async Task LogsAsync(HttpContext context, ControlPlane plane, string service, string? instance, int? tail, bool? follow)
    {
        var files = plane.LogFiles(service, instance);
        context.Response.ContentType = "text/plain; charset=utf-8";
        var prefix = files.Count > 1;
        var offsets = new long[files.Count];
        for (var i = 0; i < files.Count; i++)
        {
            var (id, path) = files[i];
            var lines = Runtime.LogTail.Read(path, Math.Clamp(tail ?? 100, 0, 10_000));
            offsets[i] = new FileInfo(path).Length;
            foreach (var line in lines)
            {
                await context.Response.WriteAsync(prefix ? $"[{id}] {line}\n" : line + "\n", context.RequestAborted);
            }
        }
        if (follow != true)
        {
            return;
        }
        await context.Response.Body.FlushAsync(context.RequestAborted);
        try
        {
            while (!context.RequestAborted.IsCancellationRequested)
            {
                await Task.Delay(200, context.RequestAborted);
                for (var i = 0; i < files.Count; i++)
                {
                    var text = ReadFrom(files[i].Path, ref offsets[i]);
                    foreach (var line in text.Split('\n', StringSplitOptions.RemoveEmptyEntries))
                    {
                        await context.Response.WriteAsync(prefix ? $"[{files[i].Instance}] {line}\n" : line + "\n", context.RequestAborted);
                    }
                }
                await context.Response.Body.FlushAsync(context.RequestAborted);
            }
        }
        catch (OperationCanceledException)
        {
        }
    }

    /// <summary>The whole lines appended since <paramref name="offset"/>; a partial last line waits for the next read.</summary>
    private static string ReadFrom(string path, ref long offset)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            if (stream.Length <= offset)
            {
                return "";
            }
            stream.Position = offset;
            var buffer = new byte[Math.Min(stream.Length - offset, 1 << 20)];
            var read = stream.Read(buffer);
            var end = Array.LastIndexOf(buffer, (byte)'\n', read - 1);
            if (end < 0)
            {
                return "";
            }
            offset += end + 1;
            return Encoding.UTF8.GetString(buffer, 0, end + 1);
        }
        catch (IOException)
        {
            return "";
        }
    }
}
