using Flotilla.Hosting;
using Flotilla.Model;
using Flotilla.Store;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Flotilla.Api;

/// <summary>The routes of /v1/gitops: follow a repository, its sync status, sync now, stop following.</summary>
internal static class GitOpsEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapGet("/gitops", (ControlPlane plane) => plane.GitOps is { } status ? Results.Json(status, ApiJson.Options)
            : ApiErrors.Result(StatusCodes.Status404NotFound, "no repository is followed", "follow one with 'flotilla gitops add REPO'"))
            .WithSummary("The followed repository's sync status: Synced, OutOfSync (with the drift), Progressing or Failed (with the reason and a commit's spec errors).");
        v1.MapPost("/gitops", async (HttpContext context, ControlPlanes planes) =>
        {
            var body = await ApiEndpoints.ReadAsync<GitOpsBody>(context);
            if (string.IsNullOrWhiteSpace(body.Repo))
            {
                return ApiErrors.Result(StatusCodes.Status400BadRequest, "gitops needs 'repo': a URL, or a path on the server's machine");
            }
            var interval = TimeSpan.FromSeconds(30);
            if (body.Interval is { } text && (!Quantities.TryParseDuration(text, out interval) || interval < TimeSpan.FromSeconds(1)))
            {
                return ApiErrors.Result(StatusCodes.Status400BadRequest, $"'interval' must be {Quantities.DurationHelp}, at least 1s; got '{text}'");
            }
            var path = string.IsNullOrWhiteSpace(body.Path) ? SpecLoader.DefaultFileName : body.Path;
            if (Path.IsPathRooted(path) || path.Split('/').Contains(".."))
            {
                return ApiErrors.Result(StatusCodes.Status400BadRequest, $"'path' is the spec's path inside the repository, e.g. flotilla.yaml or deploy/flotilla.yaml; got '{path}'");
            }
            // Following a repository for an environment not run yet starts it (its first commit is its first apply).
            var environment = body.Environment ?? ApiServer.EnvironmentOf(context);
            var plane = await planes.ForAsync(ApiAuth.Tenant(context), environment, create: true, context.RequestAborted);
            var source = new GitOpsSource(body.Repo, path, environment, string.IsNullOrWhiteSpace(body.Branch) ? "main" : body.Branch, interval, body.SelfHeal ?? false,
                ApiAuth.Actor(context), DateTimeOffset.UtcNow);
            return Results.Json(plane.FollowRepository(source), ApiJson.Options, statusCode: StatusCodes.Status201Created);
        }).WithSummary("Follows a repository: every new commit of the branch is applied (a local path or file:// works; interval default 30s).");
        v1.MapPost("/gitops/sync", (ControlPlane plane) =>
        {
            if (plane.GitOps is null)
            {
                return ApiErrors.Result(StatusCodes.Status404NotFound, "no repository is followed");
            }
            plane.WakeGitOps();
            return Results.Accepted();
        }).WithSummary("Checks the repository now instead of at the next interval.");
        v1.MapDelete("/gitops", (HttpContext context, ControlPlane plane) =>
        {
            plane.StopFollowing(ApiAuth.Actor(context));
            return Results.NoContent();
        }).WithSummary("Stops following the repository; what runs stays as it is.");
    }
}

/// <summary>POST /v1/gitops.</summary>
public sealed record GitOpsBody(string? Repo, string? Path, string? Environment, string? Branch, string? Interval, bool? SelfHeal);
