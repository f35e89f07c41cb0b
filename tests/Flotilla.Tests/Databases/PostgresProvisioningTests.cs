using Flotilla.Databases;
using Flotilla.Model;
using Flotilla.Tests.Support;
using Npgsql;

namespace Flotilla.Tests.Databases;

/// <summary>
/// Provisioning and migrations against a real PostgreSQL server started for these tests: each
/// service's database is its own (other services' credentials and none are refused), migrations
/// are all-or-nothing, once, under a lease, and a dead server is a clear error.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class PostgresProvisioningTests : IAsyncLifetime, IDisposable
{
    private readonly TempDirectory _dir = new("flotilla-db");
    private readonly MemorySecrets _secrets = new();
    private PostgresInstance _server = null!;

    public async Task InitializeAsync()
    {
        _server = await PostgresInstance.StartNewAsync();
        _secrets.Set("pg-admin", _server.AdminConnectionString);
    }

    public async Task DisposeAsync() => await _server.DisposeAsync();

    public void Dispose() => _dir.Dispose();

    private static readonly SpecLocation At = new("flotilla.yaml", 3, 5);

    private SystemSpec Spec(params (string Service, string? Migrations)[] services) => new("shop", _dir.Path, Path.Combine(_dir.Path, "flotilla.yaml"),
        [.. services.Select(s => new ServiceSpec { Name = s.Service, At = At, Database = new DatabaseSpec(s.Service, "pg", s.Migrations, At) })],
        new Dictionary<string, EnvironmentSpec>(), null, Engines: [new EngineSpec("pg", "postgres", 0, "pg-admin", At)]);

    private DatabaseProvisioning Provisioning() => new(Path.Combine(_dir.Path, "data"), _secrets, _secrets.Names, () => new HashSet<string>());

    private string Migrations(string name, params (string File, string Sql)[] files)
    {
        var directory = Path.Combine(_dir.Path, name);
        Directory.CreateDirectory(directory);
        foreach (var (file, sql) in files)
        {
            File.WriteAllText(Path.Combine(directory, file), sql);
        }
        return directory;
    }

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    [Fact]
    public async Task EachService_GetsItsOwnDatabase_AndNoOtherCredentialsNorNoneCanConnectToIt()
    {
        var orders = Migrations("orders-db", ("001_create.sql", "CREATE TABLE orders (id serial PRIMARY KEY, total int NOT NULL);"));
        var spec = await Provisioning().PrepareAsync(Spec(("orders", orders), ("reviews", null)), "test", null, CancellationToken.None);

        // Injected as a store secret by name: desired state never holds the value.
        var injected = spec.Services.Single(s => s.Name == "orders").Secrets.Single();
        Assert.Equal(("ConnectionStrings__orders", DatabaseSecretNames.App("orders")), (injected.Variable, injected.Store));
        var ordersApp = _secrets.Get(DatabaseSecretNames.App("orders"))!;
        var reviewsApp = _secrets.Get(DatabaseSecretNames.App("reviews"))!;

        // The application writes its own tables (made by the owner's migration) but cannot change the schema.
        await ScalarAsync(ordersApp, "INSERT INTO orders (total) VALUES (42)");
        Assert.Equal(42, await ScalarAsync(ordersApp, "SELECT total FROM orders"));
        var ddl = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(ordersApp, "CREATE TABLE mine (id int)"));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, ddl.SqlState);

        // Service reviews' credentials, pointed at orders' database: refused at connect.
        var stolen = new NpgsqlConnectionStringBuilder(reviewsApp) { Database = "orders" }.ToString();
        var refused = await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(stolen, "SELECT 1"));
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, refused.SqlState);
        Assert.Contains("permission denied for database \"orders\"", refused.MessageText, StringComparison.Ordinal);

        // No credentials at all (a role that exists, no password; and PUBLIC's default connect).
        var none = new NpgsqlConnectionStringBuilder(ordersApp) { Password = null }.ToString();
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => ScalarAsync(none, "SELECT 1"));
        await _server.ScalarAsync("CREATE ROLE nobody LOGIN PASSWORD 'nobody'");
        var outsider = new NpgsqlConnectionStringBuilder(ordersApp) { Username = "nobody", Password = "nobody" }.ToString();
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, (await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(outsider, "SELECT 1"))).SqlState);

        // Provisioning again changes nothing (no new password, so no new revision).
        var before = new Dictionary<string, string>(_secrets.Values);
        await Provisioning().PrepareAsync(Spec(("orders", orders), ("reviews", null)), "test", null, CancellationToken.None);
        Assert.Equal(before, _secrets.Values);
        Assert.Equal(42, await ScalarAsync(ordersApp, "SELECT total FROM orders"));
    }

    [Fact]
    public async Task AFailingMigration_AbortsWithFileLineAndTheDatabasesError_AndCommitsNothing()
    {
        var directory = Migrations("m", ("001_create.sql", "CREATE TABLE items (id int PRIMARY KEY);"));
        await Provisioning().PrepareAsync(Spec(("items", directory)), "rev-1", null, CancellationToken.None);
        Migrations("m", ("002_add.sql", "ALTER TABLE items ADD COLUMN name text;"), ("003_broken.sql", "-- a comment\nALTER TABLE items\n  ADD COLUMN price nonsense_type;"));

        var error = await Assert.ThrowsAsync<MigrationException>(() => Provisioning().PrepareAsync(Spec(("items", directory)), "rev-2", null, CancellationToken.None));
        Assert.Contains($"{Path.Combine(directory, "003_broken.sql")}:3: migration 003_broken.sql failed", error.Message, StringComparison.Ordinal);
        Assert.Contains("type \"nonsense_type\" does not exist", error.Message, StringComparison.Ordinal);
        // 002 ran in the same transaction: rolled back with it.
        Assert.Equal(0L, await _server.ScalarAsync("SELECT count(*) FROM information_schema.columns WHERE table_name = 'items' AND column_name = 'name'", "items"));
        Assert.Equal(1L, await _server.ScalarAsync("SELECT count(*) FROM flotilla_migrations", "items"));

        // An applied file edited afterwards is refused at apply, by file and line.
        File.Delete(Path.Combine(directory, "003_broken.sql"));
        await Provisioning().PrepareAsync(Spec(("items", directory)), "rev-3", null, CancellationToken.None);
        File.WriteAllText(Path.Combine(directory, "001_create.sql"), "CREATE TABLE items (id bigint PRIMARY KEY);");
        var changed = await Assert.ThrowsAsync<MigrationException>(() => Provisioning().PrepareAsync(Spec(("items", directory)), "rev-4", null, CancellationToken.None));
        Assert.Contains($"{Path.Combine(directory, "001_create.sql")}:1: migration 001_create.sql was changed after it was applied", changed.Message, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TwoMigratorsAtOnce_ApplyEachFileOnce()
    {
        var directory = Migrations("c", ("001_slow.sql", "CREATE TABLE slow (id int); SELECT pg_sleep(1); INSERT INTO slow VALUES (1);"));
        await Provisioning().PrepareAsync(Spec(("slow", null)), "setup", null, CancellationToken.None);
        var files = MigrationSet.Read(directory);
        var owner = _secrets.Get(DatabaseSecretNames.Owner("slow"))!;
        async Task<int> RunAsync(string by)
        {
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(owner) { Pooling = false }.ToString());
            return (await MigrationRunner.RunAsync(connection, files, by, dryRun: false, CancellationToken.None)).Count;
        }
        var applied = await Task.WhenAll(RunAsync("plane-a"), RunAsync("plane-b"));
        Assert.Equal([0, 1], applied.Order());
        Assert.Equal(1L, await _server.ScalarAsync("SELECT count(*) FROM slow", "slow"));
    }

    [Fact]
    public async Task AKilledServer_IsAClearError_AndProvisioningWorksWhenItIsBack()
    {
        await Provisioning().PrepareAsync(Spec(("ledger", null)), "setup", null, CancellationToken.None);
        var app = _secrets.Get(DatabaseSecretNames.App("ledger"))!;
        _server.Kill();

        var error = await Assert.ThrowsAsync<DatabaseException>(() => Provisioning().PrepareAsync(Spec(("ledger", null)), "again", null, CancellationToken.None));
        Assert.Contains($"service 'ledger': engine 'pg' at 127.0.0.1:{_server.Port} cannot provision database 'ledger'", error.Message, StringComparison.Ordinal);
        // What an instance sees: a connection error naming the server, not a hang.
        var refused = await Assert.ThrowsAnyAsync<NpgsqlException>(() => ScalarAsync(app, "SELECT 1"));
        Assert.Contains("127.0.0.1", refused.Message + refused.InnerException?.Message, StringComparison.Ordinal);

        await _server.StartAsync();
        await Provisioning().PrepareAsync(Spec(("ledger", null)), "again", null, CancellationToken.None);
        Assert.Equal(1, await ScalarAsync(app, "SELECT 1"));
    }
}
