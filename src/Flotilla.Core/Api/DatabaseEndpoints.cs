using Flotilla.Databases.Engines;
using Flotilla.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Flotilla.Api;

/// <summary>The routes of databases: each service's database and where it lives, and the engines Flotilla runs with each replica's lag (never a credential).</summary>
internal static class DatabaseEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapGet("/databases", (ControlPlane plane) =>
        {
            var state = plane.State;
            var databases = (state.Databases ?? new Dictionary<string, Model.DatabaseSpec>()).OrderBy(d => d.Key, StringComparer.Ordinal)
                .Select(d => new DatabaseView(d.Key, d.Value.Name, d.Value.Engine ?? "sqlite", d.Value.Migrations,
                    [.. state.Find(d.Key)?.SecretRefs.Where(x => x.Variable.StartsWith(Databases.DatabaseProvisioning.ConnectionStringPrefix, StringComparison.Ordinal)).Select(x => x.Variable) ?? []]))
                .ToList();
            var engines = (state.Engines ?? []).Select(e => new EngineView(e.Name, e.Kind, e.IsExternal ? $"external (secret {e.ExternalSecret})" : "run by flotilla", e.Replicas)).ToList();
            var members = plane.Engines.Observed.OrderBy(m => m.Key.Engine, StringComparer.Ordinal).ThenBy(m => m.Key.Role, StringComparer.Ordinal)
                .Select(m => new EngineMemberView(m.Key.Engine, m.Key.Role, m.Key.Port, m.Value.Pid, m.Value.Ready, m.Value.Failures, m.Key.IsPrimary)).ToList();
            return Results.Json(new DatabasesView(databases, engines, members, plane.Engines.Lags), ApiJson.Options);
        }).WithSummary("Each service's database (engine, name, injected variables), the engines, the servers Flotilla runs (port, pid, ready) and each replica's lag.");
        v1.MapGet("/databases/{service}/migrations", async (string service, ControlPlane plane, CancellationToken cancellationToken) =>
        {
            var database = plane.State.Databases?.GetValueOrDefault(service)
                ?? throw new ControlPlaneException($"service '{service}' has no database in the applied revision (flotilla db ls)", ControlPlaneError.NotFound);
            var owner = plane.Secrets.Get(Databases.DatabaseSecretNames.Owner(service))
                ?? throw new ControlPlaneException($"service '{service}': its database was never provisioned (apply the spec)", ControlPlaneError.NotFound);
            try
            {
                return Results.Json(await Databases.MigrationReport.ReadAsync(service, database, owner, cancellationToken), ApiJson.Options);
            }
            catch (Databases.MigrationException e)
            {
                throw new ControlPlaneException(e.Message, ControlPlaneError.Invalid);
            }
            catch (Databases.DatabaseException e)
            {
                throw new ControlPlaneException(e.Message, ControlPlaneError.Unavailable);
            }
        }).WithSummary("A service's migrations without running them: the history its database has, the files the next apply would run, or why it would refuse them.");
        v1.MapPost("/databases/{service}/session", async (string service, ControlPlane plane, HttpContext context) =>
        {
            var body = context.Request.ContentLength is 0 ? new SessionBody(false) : await ApiEndpoints.ReadAsync<SessionBody>(context);
            var database = plane.State.Databases?.GetValueOrDefault(service)
                ?? throw new ControlPlaneException($"service '{service}' has no database in the applied revision (flotilla db ls)", ControlPlaneError.NotFound);
            Databases.DatabaseSession session;
            try
            {
                var replicas = database.Engine is { } engine ? plane.Engines.ReplicaPorts(engine) : [];
                session = Databases.DatabaseSessions.For(service, database, plane.Secrets.Get, replicas, body.ReadOnly, database.Engine is { } named ? plane.Engines.PrimaryPort(named) : null);
            }
            catch (Databases.DatabaseException e)
            {
                throw new ControlPlaneException(e.Message, ControlPlaneError.NotFound);
            }
            // Who opened a session on which database is audited; the credentials are not.
            plane.Store.AddAudit(ApiAuth.Actor(context), "db shell",
                $"{service}: database {session.Database} on {database.Engine ?? "SQLite"}, {(body.ReadOnly ? "read-only" : "read-write")}{(session.Username is { } user ? $" as {user}" : "")}", DateTimeOffset.UtcNow);
            return Results.Json(session, ApiJson.Options);
        }).WithSummary("Credentials for a person's session on a service's database (flotilla db shell; admin only, audited): the owner's role, or with readOnly the application's on a replica or in read-only transactions.");
    }
}

public sealed record DatabasesView(IReadOnlyList<DatabaseView> Databases, IReadOnlyList<EngineView> Engines, IReadOnlyList<EngineMemberView> Servers, IReadOnlyList<ReplicaLag> Replicas);

public sealed record DatabaseView(string Service, string Database, string Engine, string? Migrations, IReadOnlyList<string> Variables);

public sealed record SessionBody(bool ReadOnly);

public sealed record EngineView(string Name, string Kind, string RunBy, int Replicas);

/// <param name="Primary">Whether this server is the engine's primary now (a replica after a failover is promoted; its slot name, Role, stays).</param>
public sealed record EngineMemberView(string Engine, string Role, int Port, int? Pid, bool Ready, int Failures, bool Primary = false);
