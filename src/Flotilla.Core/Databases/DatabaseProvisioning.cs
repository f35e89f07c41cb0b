using Flotilla.Model;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Flotilla.Databases;

/// <summary>
/// The database step of an apply, run after the builds and before the revision is recorded (so
/// before any instance of it starts): plans (<see cref="DatabasePlanner"/>), provisions each
/// service's database, keeps its credentials in the secret store, applies its migrations, and
/// gives back the spec with each such service's connection strings as store secrets
/// (<c>ConnectionStrings__NAME</c>), which reach that service's instances only. A failure throws
/// <see cref="DatabaseException"/> or <see cref="MigrationException"/>: the apply records nothing
/// and the running revision keeps serving.
/// </summary>
/// <param name="memberPorts">The ports of every server of an engine with replicas, in a fixed order (none for an external engine or one without replicas).</param>
/// <param name="users">Whose a service's SQLite file is (its instance user), or null: Flotilla's own.</param>
public sealed class DatabaseProvisioning(string dataDirectory, IDatabaseSecrets secrets, Func<IReadOnlySet<string>> secretNames, Func<IReadOnlySet<string>> runningEngines,
    Func<string, IReadOnlyList<int>>? memberPorts = null, Isolation.InstanceUsers? users = null)
{
    private readonly HashSet<string> _withReplicas = new(StringComparer.Ordinal);

    public const string ConnectionStringPrefix = "ConnectionStrings__";

    /// <param name="contractBlocked">For a service (with its connection strings), why a contract migration may not run now, or null.</param>
    public async Task<SystemSpec> PrepareAsync(SystemSpec spec, string appliedBy, Action<string>? progress, CancellationToken cancellationToken, Func<ServiceSpec, string?>? contractBlocked = null)
    {
        var plan = DatabasePlanner.Plan(spec, secretNames(), runningEngines());
        if (plan.Refusals.FirstOrDefault() is { } refused)
        {
            throw new DatabaseException($"service '{refused.Service}': {refused.Refusal}");
        }
        foreach (var step in plan.Steps)
        {
            progress?.Invoke($"{step.Service}: database {step.Database} on {step.Engine ?? "SQLite"}");
            System.Data.Common.DbConnection migrator = step.Engine is null ? ProvisionSqlite(step) : await ProvisionPostgresAsync(step, cancellationToken);
            if (step.Migrations is { } directory)
            {
                var files = MigrationSet.Read(directory);
                await using var connection = migrator;
                var blocked = files.Any(f => f.Contract) ? contractBlocked?.Invoke(WithConnectionStrings(spec.Services.Single(s => s.Name == step.Service), step)) : null;
                var applied = await MigrationRunner.RunAsync(connection, files, appliedBy, dryRun: false, cancellationToken, blocked);
                progress?.Invoke(applied.Count == 0
                    ? $"{step.Service}: migrations up to date ({files.Count})"
                    : $"{step.Service}: applied {string.Join(", ", applied.Select(f => f.Name))}");
            }
            else
            {
                await migrator.DisposeAsync();
            }
        }
        var steps = plan.Steps.ToDictionary(s => s.Service, StringComparer.Ordinal);
        return spec with { Services = [.. spec.Services.Select(s => steps.TryGetValue(s.Name, out var step) ? WithConnectionStrings(s, step) : s)] };
    }

    /// <summary>The service with its connection string as a secret of the store (never the value in desired state).</summary>
    private ServiceSpec WithConnectionStrings(ServiceSpec service, DatabaseStep step)
    {
        var variable = ConnectionStringPrefix + step.Database;
        if (service.Secrets.Any(s => s.Variable == variable) || service.Env.ContainsKey(variable))
        {
            throw new DatabaseException($"service '{service.Name}': {variable} is set by the service's own env or secrets and is also its database's connection string; remove it from env/secrets (Flotilla injects it)");
        }
        var injected = new SecretSpec(variable, DatabaseSecretNames.App(service.Name), null, false, service.Database!.At);
        if (!_withReplicas.Contains(service.Name))
        {
            return service with { Secrets = [.. service.Secrets, injected] };
        }
        var readOnly = new SecretSpec(variable + "_readonly", DatabaseSecretNames.ReadOnly(service.Name), null, false, service.Database.At);
        return service with { Secrets = [.. service.Secrets, injected, readOnly] };
    }

    private SqliteConnection ProvisionSqlite(DatabaseStep step)
    {
        var connectionString = SqliteDatabases.Ensure(dataDirectory, step.Service, step.Database, users?.For(step.Service));
        SetIfChanged(DatabaseSecretNames.App(step.Service), connectionString);
        SetIfChanged(DatabaseSecretNames.Owner(step.Service), connectionString);
        // The control plane's own connection is not pooled: the file is not held open after the apply.
        return new SqliteConnection(new SqliteConnectionStringBuilder(connectionString) { Pooling = false, DefaultTimeout = (int)MigrationRunner.LockTimeout.TotalSeconds }.ToString());
    }

    private async Task<NpgsqlConnection> ProvisionPostgresAsync(DatabaseStep step, CancellationToken cancellationToken)
    {
        var admin = secrets.Get(step.AdminSecret!) ?? throw new DatabaseException($"service '{step.Service}': secret '{step.AdminSecret}' left the store during the apply");
        try
        {
            _ = new NpgsqlConnectionStringBuilder(admin);
        }
        catch (ArgumentException e)
        {
            throw new DatabaseException($"engine '{step.Engine}': secret '{step.AdminSecret}' is not a PostgreSQL connection string ({e.Message}); set it to e.g. Host=HOST;Port=5432;Username=postgres;Password=...");
        }
        // Passwords are generated once and then read back from the store, so an apply never rotates them by accident.
        var ownerPassword = PasswordOf(DatabaseSecretNames.Owner(step.Service)) ?? PostgresDatabases.NewPassword();
        var appPassword = PasswordOf(DatabaseSecretNames.App(step.Service)) ?? PostgresDatabases.NewPassword();
        try
        {
            await PostgresDatabases.EnsureAsync(admin, step.Database, ownerPassword, appPassword, cancellationToken);
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            var builder = new NpgsqlConnectionStringBuilder(admin);
            throw new DatabaseException($"service '{step.Service}': engine '{step.Engine}' at {builder.Host}:{builder.Port} cannot provision database '{step.Database}': {(e is PostgresException p ? $"{p.SqlState}: {p.MessageText}" : e.Message)}", e);
        }
        var ports = memberPorts?.Invoke(step.Engine!) ?? [];
        var owner = EveryMember(PostgresDatabases.ConnectionString(admin, step.Database, PostgresDatabases.OwnerRole(step.Database), ownerPassword), ports, "primary");
        SetIfChanged(DatabaseSecretNames.Owner(step.Service), owner);
        var app = PostgresDatabases.ConnectionString(admin, step.Database, PostgresDatabases.AppRole(step.Database), appPassword);
        SetIfChanged(DatabaseSecretNames.App(step.Service), EveryMember(app, ports, "primary"));
        if (ports.Count > 0)
        {
            // Roles and passwords replicate with everything else: the app's own login reads from the replicas,
            // spread over them, and from the primary when none answers.
            var builder = new NpgsqlConnectionStringBuilder(EveryMember(app, ports, "prefer-standby")) { LoadBalanceHosts = true };
            SetIfChanged(DatabaseSecretNames.ReadOnly(step.Service), builder.ToString());
            _withReplicas.Add(step.Service);
        }
        return new NpgsqlConnection(new NpgsqlConnectionStringBuilder(owner) { Pooling = false }.ToString());
    }

    /// <summary>
    /// With replicas, every server of the engine (in a fixed order, so the string does not change
    /// with a failover) and the session Npgsql must find: <c>primary</c> for writes, so an instance
    /// reaches whichever server is the primary now without being redeployed (libpq's
    /// <c>target_session_attrs=read-write</c>). Npgsql remembers a server's role for
    /// <c>Host Recheck Seconds</c> (10 by default): 1, so a promoted replica is found within a second.
    /// </summary>
    private static string EveryMember(string connectionString, IReadOnlyList<int> ports, string target)
    {
        if (ports.Count == 0)
        {
            return connectionString;
        }
        var builder = new NpgsqlConnectionStringBuilder(connectionString);
        builder.Host = string.Join(",", ports.Select(p => $"{builder.Host}:{p}"));
        builder.Port = ports[0]; // not the primary's (the admin string's) port: the string stays the same across a failover
        builder.TargetSessionAttributes = target;
        builder.HostRecheckSeconds = 1;
        return builder.ToString();
    }

    private string? PasswordOf(string secret)
    {
        try
        {
            return secrets.Get(secret) is { } text ? new NpgsqlConnectionStringBuilder(text).Password : null;
        }
        catch (ArgumentException)
        {
            return null; // the service's database was SQLite before: its PostgreSQL credentials are new
        }
    }

    /// <summary>An unchanged value is not written again: a new version would look like a rotation.</summary>
    private void SetIfChanged(string name, string value)
    {
        if (secrets.Get(name) != value)
        {
            secrets.Set(name, value);
        }
    }
}
