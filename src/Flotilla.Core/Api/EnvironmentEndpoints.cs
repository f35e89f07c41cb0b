using Flotilla.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Flotilla.Api;

/// <summary>The routes across environments: the list of them, and promotion of exact artifacts from one to another.</summary>
internal static class EnvironmentEndpoints
{
    public static void Map(RouteGroupBuilder v1, ControlPlanes planes)
    {
        v1.MapGet("/environments", (HttpContext context) => Results.Json(planes.Of(ApiAuth.Tenant(context)).Select(EnvironmentSummary.Of), ApiJson.Options))
            .WithSummary("The environments the tenant runs side by side: revision, services, instances ready.");
        v1.MapPost("/promote", async (HttpContext context, ControlPlane plane) =>
        {
            var body = await ApiEndpoints.ReadAsync<PromoteBody>(context);
            if (string.IsNullOrWhiteSpace(body.From))
            {
                return ApiErrors.Result(StatusCodes.Status400BadRequest, "promote needs 'from': the environment whose artifacts move");
            }
            var source = await planes.ForAsync(ApiAuth.Tenant(context), body.From, create: false, context.RequestAborted);
            if (ReferenceEquals(source, plane))
            {
                return ApiErrors.Result(StatusCodes.Status400BadRequest, $"'{body.From}' is the environment promoted to; name another with X-Flotilla-Environment (--to)");
            }
            var record = await plane.PromoteAsync(source, body.Services, ApiAuth.Actor(context), context.RequestAborted);
            return Results.Json(new ApplyResponse(record.Number, false, record.Summary), ApiJson.Options, statusCode: StatusCodes.Status201Created);
        }).WithSummary("Runs in this environment (X-Flotilla-Environment) the exact artifacts another one runs (same digests, no rebuild), with this environment's own configuration.");
    }
}

public sealed record PromoteBody(string? From, IReadOnlyList<string>? Services);

/// <summary>One environment as <c>flotilla environments</c> lists it.</summary>
public sealed record EnvironmentSummary(string? Environment, string DataDirectory, long Revision, int Services, int Desired, int Ready, string? Flags, string? GitOps)
{
    public static EnvironmentSummary Of(ControlPlane plane)
    {
        var status = plane.Status();
        return new EnvironmentSummary(plane.State.Environment, plane.DataDirectory, status.Revision, status.Services.Count, status.Services.Sum(s => s.Desired),
            status.Services.Sum(s => s.Ready), plane.FlagsUrl, plane.GitOps?.Sync);
    }
}
