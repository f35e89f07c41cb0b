using Flotilla.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Flotilla.Api;

/// <summary>The routes of configuration: a service's effective configuration with where each value came from, and the secret store (names and versions only).</summary>
internal static class ConfigEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapGet("/services/{service}/config", (string service, ControlPlane plane) =>
        {
            var desired = plane.State.Find(service) ?? throw new ControlPlaneException($"unknown service '{service}'", ControlPlaneError.NotFound);
            // Revisions applied before sources were recorded say so rather than guess.
            var variables = desired.Env.Select(e => new ConfigValue(e.Key, e.Value,
                    desired.EnvSources is { } sources ? sources.GetValueOrDefault(e.Key) ?? "flotilla" : "not recorded (applied by an older Flotilla; apply again)"))
                .Concat(desired.SecretRefs.Select(x => new ConfigValue(x.Variable, x.AsFile ? "(secret, as a file)" : "(secret)", x.Describe())))
                .OrderBy(v => v.Name, StringComparer.Ordinal).ToList();
            return Results.Json(new ServiceConfig(service, desired.Revision, plane.State.Environment, variables), ApiJson.Options);
        }).WithSummary("A service's effective configuration: every variable, where it came from (base spec, environment overlay, secret, Flotilla); secrets by name, never their values.");
        v1.MapGet("/secrets", (ControlPlane plane) => Results.Json(plane.Store.Secrets(), ApiJson.Options))
            .WithSummary("The secret store's secrets: name, version, who set them and when (never values).");
        v1.MapPut("/secrets/{name}", async (string name, HttpContext context, ControlPlane plane) =>
        {
            var body = await ApiEndpoints.ReadAsync<SecretBody>(context);
            if (body?.Value is null || !Model.Names.IsServiceName(name))
            {
                return ApiErrors.Result(StatusCodes.Status400BadRequest, $"a secret needs a name ({Model.Names.ServiceNameHelp}) and a 'value'");
            }
            plane.Secrets.Set(name, body.Value, ApiAuth.Actor(context), DateTimeOffset.UtcNow);
            plane.Events.Record("secrets", $"secret {name} set by {ApiAuth.Actor(context)} (version {plane.Store.Secrets().Single(s => s.Name == name).Version}); services using it restart with it at the next apply");
            return Results.Json(plane.Store.Secrets().Single(s => s.Name == name), ApiJson.Options);
        }).WithSummary("Sets a secret (a new version); services that use it get it at their next apply, as a rolling restart.");
        v1.MapDelete("/secrets/{name}", (string name, HttpContext context, ControlPlane plane) =>
            plane.Store.RemoveSecret(name, ApiAuth.Actor(context), DateTimeOffset.UtcNow) ? Results.NoContent()
                : ApiErrors.Result(StatusCodes.Status404NotFound, $"no secret named '{name}'"))
            .WithSummary("Removes a secret; a service that still uses it cannot start new instances until it is set again.");
    }
}

public sealed record ConfigValue(string Name, string Value, string Source);

public sealed record ServiceConfig(string Service, string Revision, string? Environment, IReadOnlyList<ConfigValue> Variables);

public sealed record SecretBody(string? Value);
