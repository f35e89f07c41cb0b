using Flotilla.Federation;
using Flotilla.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Flotilla.Api;

/// <summary>
/// Federation over the API: an apply of a spec with <c>clusters:</c> goes to the environment's
/// federation instead of one control plane, and <c>GET /v1/clusters</c> shows every cluster.
/// One cluster's control plane answers everything else with the X-Flotilla-Cluster header. All of it
/// in the caller's tenant: another tenant's federated environment answers as one that does not exist.
/// </summary>
internal static class FederationEndpoints
{
    public static void Map(RouteGroupBuilder v1, Federations federations) =>
        v1.MapGet("/clusters", (HttpContext context) =>
        {
            var environment = ApiServer.EnvironmentOf(context);
            return federations.Find(ApiAuth.Tenant(context), environment) is { } federation
                ? Results.Json(federation.Status(), ApiJson.Options)
                : ApiErrors.Result(StatusCodes.Status404NotFound, $"environment '{environment ?? "(base)"}' runs over no clusters",
                    "apply a spec with 'clusters:' to run it over several");
        }).WithSummary("A federated environment: its revision and every cluster in release order (reachable, revision, health, what comes next and why, services ready).");

    /// <summary>
    /// The apply of a spec that declares clusters (null when it declares none: an ordinary apply). An environment is either
    /// federated or run by one control plane: switching between the two is refused, naming what runs it now.
    /// </summary>
    public static async Task<IResult?> ApplyAsync(HttpContext context, ControlPlanes planes, Federations federations, ApplyBody body, string? environment)
    {
        var tenant = ApiAuth.Tenant(context);
        var federated = federations.Find(tenant, environment);
        if (!Federations.Declares(body.Spec!, body.File!, environment))
        {
            return federated is null ? null : ApiErrors.Result(StatusCodes.Status409Conflict,
                $"environment '{environment ?? "(base)"}' runs over clusters ({string.Join(", ", federated.Clusters)}), and this spec declares none",
                "keep 'clusters:' in the spec, or apply it to another environment");
        }
        // Only the caller's tenant's environments are looked at: another tenant's of the same name is none of its business.
        if (federated is null && planes.Of(tenant).FirstOrDefault(p => p.Store.LatestRevisionNumber > 0 && p.State.Environment == environment) is { } plane)
        {
            return ApiErrors.Result(StatusCodes.Status409Conflict, $"environment '{environment ?? "(base)"}' already runs on this server's own runtime (in {plane.DataDirectory})",
                "apply the spec with clusters to another environment (--env), or stop this one first");
        }
        var federation = await federations.ForApplyAsync(tenant, environment, context.RequestAborted);
        var result = await federation.ApplyAsync(new ApplyRequest(body.Spec!, body.File!, environment, body.BasedOn, ApiAuth.Actor(context), body.GitCommit), cancellationToken: context.RequestAborted);
        return Results.Json(new ApplyResponse(result.Revision, result.Unchanged, result.Summary), ApiJson.Options,
            statusCode: result.Unchanged ? StatusCodes.Status200OK : StatusCodes.Status201Created);
    }
}
