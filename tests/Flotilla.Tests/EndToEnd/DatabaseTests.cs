using System.Diagnostics;
using System.Text;
using Flotilla.Tests.Support;
using Npgsql;

namespace Flotilla.Tests.EndToEnd;

/// <summary>
/// Databases through a real server and CLI: each service's instances get their own connection
/// string and nobody else's, config shows it as a redacted secret, other services' credentials
/// and none are refused, and a failing migration stops the apply while the old revision serves.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class DatabaseTests
{
    private static readonly string App = Path.Combine(Repository.Root, "examples", "shop", "services", "Reviews");

    private static string Service(string name, string database, string version = "1") => $$"""
          {{name}}:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: {{App}}
            http: { health: /healthz, ready: /ready }
            env: { VERSION: "{{version}}" }
            database: {{database}}
        """;

    private static string Spec(string ordersVersion = "1") => $"""
        name: db-test
        engines:
          pg: {"{"} kind: postgres, external: {"{"} secret: pg-admin {"}"} {"}"}
        services:
        {Service("orders", "{ engine: pg, migrations: orders-db }", ordersVersion)}
        {Service("billing", "{ engine: pg }")}
        {Service("reviews", "{ migrations: reviews-db }")}
        """;

    private static Dictionary<string, string> Environ(int pid) => File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries)
        .Select(v => v.Split('=', 2)).ToDictionary(v => v[0], v => v[1], StringComparer.Ordinal);

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false }.ToString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    [Fact]
    public async Task EachServiceGetsOnlyItsOwnDatabase_AndAFailingMigrationStopsTheApply_WhileTheOldRevisionServes()
    {
        await using var postgres = await PostgresInstance.StartNewAsync();
        using var harness = new ServerHarness();
        harness.WriteSpec(Spec());
        var spec = harness.SpecDirectory;
        Directory.CreateDirectory(Path.Combine(spec, "orders-db"));
        File.WriteAllText(Path.Combine(spec, "orders-db", "001_create.sql"), "CREATE TABLE orders (id serial PRIMARY KEY, total int NOT NULL);");
        Directory.CreateDirectory(Path.Combine(spec, "reviews-db"));
        File.WriteAllText(Path.Combine(spec, "reviews-db", "001_create.sql"), "CREATE TABLE reviews (id integer PRIMARY KEY, text TEXT);");
        File.WriteAllText(Path.Combine(harness.SpecDirectory, "..", "pg-admin"), postgres.AdminConnectionString);
        var outputs = new StringBuilder();
        await harness.StartServerAsync();

        // Without the external engine's admin secret the apply is refused, saying which secret to set.
        var (code, output) = await harness.CliAsync("apply", "-f", spec);
        outputs.AppendLine(output);
        Assert.True(code == 1 && output.Contains("flotilla secret set pg-admin", StringComparison.Ordinal), output);
        Assert.Equal(0, (await harness.CliAsync("secret", "set", "pg-admin", "--from-file", Path.Combine(harness.SpecDirectory, "..", "pg-admin"))).Code);
        (code, output) = await harness.CliAsync("apply", "-f", spec, "--wait");
        outputs.AppendLine(output);
        Assert.True(code == 0, output);

        var instances = (await harness.JsonAsync("ps")).AsArray().ToDictionary(i => (string)i!["service"]!, i => (int)i!["pid"]!);
        var orders = Environ(instances["orders"]);
        var billing = Environ(instances["billing"]);
        var reviews = Environ(instances["reviews"]);
        // Each instance has its own database's connection string, and no other's.
        Assert.Equal(["ConnectionStrings__orders"], orders.Keys.Where(k => k.StartsWith("ConnectionStrings__", StringComparison.Ordinal)));
        Assert.Equal(["ConnectionStrings__billing"], billing.Keys.Where(k => k.StartsWith("ConnectionStrings__", StringComparison.Ordinal)));
        Assert.Equal(["ConnectionStrings__reviews"], reviews.Keys.Where(k => k.StartsWith("ConnectionStrings__", StringComparison.Ordinal)));
        var ordersConnection = new NpgsqlConnectionStringBuilder(orders["ConnectionStrings__orders"]);
        Assert.Equal(("orders", "orders_app", postgres.Port), (ordersConnection.Database, ordersConnection.Username, ordersConnection.Port));
        await ScalarAsync(orders["ConnectionStrings__orders"], "INSERT INTO orders (total) VALUES (7)");

        // Billing's instance, with its own credentials and with none, cannot reach orders' database.
        var withBillings = new NpgsqlConnectionStringBuilder(billing["ConnectionStrings__billing"]) { Database = "orders" }.ToString();
        Assert.Equal(PostgresErrorCodes.InsufficientPrivilege, (await Assert.ThrowsAsync<PostgresException>(() => ScalarAsync(withBillings, "SELECT 1"))).SqlState);
        var withNone = new NpgsqlConnectionStringBuilder { Host = "127.0.0.1", Port = postgres.Port, Database = "orders", Username = "billing_app" }.ToString();
        await Assert.ThrowsAnyAsync<NpgsqlException>(() => ScalarAsync(withNone, "SELECT 1"));

        // Reviews' SQLite file, with its migration applied, is its owner's only: another Unix user cannot open it.
        var file = reviews["ConnectionStrings__reviews"]["Data Source=".Length..].Split(';')[0];
        Assert.Equal(Path.Combine(harness.DataDirectory, "databases", "reviews", "reviews.db"), file);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(file));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(Path.GetDirectoryName(file)!));
        var sqlite = Process.Start(new ProcessStartInfo("setpriv", ["--reuid=nobody", "--regid=nogroup", "--clear-groups", "sqlite3", file, "SELECT count(*) FROM reviews"]) { RedirectStandardError = true, RedirectStandardOutput = true })!;
        var refusal = await sqlite.StandardError.ReadToEndAsync();
        await sqlite.WaitForExitAsync();
        Assert.True(sqlite.ExitCode != 0 && refusal.Contains("unable to open database", StringComparison.Ordinal), refusal);

        // config names where the connection string comes from, never its value.
        var config = (await harness.JsonAsync("config", "orders"))["variables"]!.AsArray().Single(v => (string?)v!["name"] == "ConnectionStrings__orders")!;
        Assert.Equal(("(secret)", "secret store 'database-orders'"), ((string?)config["value"], (string?)config["source"]));
        outputs.AppendLine((await harness.CliAsync("config", "orders")).Output);

        // A broken migration with a new revision: refused with the file, line and PostgreSQL's error; nothing changes.
        var revision = (string)(await harness.JsonAsync("ps")).AsArray().Single(i => (string?)i!["service"] == "orders")!["revision"]!;
        File.WriteAllText(Path.Combine(spec, "orders-db", "002_add_note.sql"), "ALTER TABLE orders ADD COLUMN note text;\nALTER TABLE orderz ADD COLUMN x int;");
        harness.WriteSpec(Spec(ordersVersion: "2"));
        (code, output) = await harness.CliAsync("apply", "-f", spec, "--wait");
        outputs.AppendLine(output);
        Assert.True(code == 1, output);
        Assert.True(output.Contains("002_add_note.sql:2: migration 002_add_note.sql failed", StringComparison.Ordinal), output);
        Assert.Contains("relation \"orderz\" does not exist", output, StringComparison.Ordinal);
        var after = (await harness.JsonAsync("ps")).AsArray().Single(i => (string?)i!["service"] == "orders")!;
        Assert.Equal((instances["orders"], revision), ((int)after["pid"]!, (string)after["revision"]!));
        Assert.Equal(0L, await postgres.ScalarAsync("SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'note'", "orders"));

        // The dry run says what the next apply would do, and changes nothing.
        (code, output) = await harness.CliAsync("db", "migrate", "orders", "--dry-run");
        outputs.AppendLine(output);
        Assert.True(code == 0 && output.Contains("applied  001_create.sql", StringComparison.Ordinal) && output.Contains("pending  002_add_note.sql", StringComparison.Ordinal), output);
        (code, output) = await harness.CliAsync("db", "migrate", "reviews", "--dry-run");
        Assert.True(code == 0 && output.Contains("applied  001_create.sql", StringComparison.Ordinal) && !output.Contains("pending", StringComparison.Ordinal), output);
        var listed = (await harness.JsonAsync("db", "ls"))["databases"]!.AsArray().Select(d => ((string)d!["service"]!, (string)d["engine"]!)).ToList();
        Assert.Equal([("billing", "pg"), ("orders", "pg"), ("reviews", "sqlite")], listed);

        // Fixed: the migration runs before the new revision's instances start, and they see its column.
        File.WriteAllText(Path.Combine(spec, "orders-db", "002_add_note.sql"), "ALTER TABLE orders ADD COLUMN note text NOT NULL DEFAULT 'none';");
        (code, output) = await harness.CliAsync("apply", "-f", spec, "--wait");
        outputs.AppendLine(output);
        Assert.True(code == 0, output);
        var next = (await harness.JsonAsync("ps")).AsArray().Single(i => (string?)i!["service"] == "orders")!;
        Assert.NotEqual(revision, (string)next["revision"]!);
        Assert.Equal("none", await ScalarAsync(Environ((int)next["pid"]!)["ConnectionStrings__orders"], "SELECT note FROM orders"));

        // A contract migration with a code change is refused while the older revision runs; alone (same revision) it runs.
        File.WriteAllText(Path.Combine(spec, "orders-db", "003_drop_note.sql"), "-- flotilla: contract\nALTER TABLE orders DROP COLUMN note;");
        harness.WriteSpec(Spec(ordersVersion: "3"));
        (code, output) = await harness.CliAsync("apply", "-f", spec, "--wait");
        outputs.AppendLine(output);
        Assert.True(code == 1 && output.Contains("003_drop_note.sql:1: migration 003_drop_note.sql is a contract migration", StringComparison.Ordinal)
            && output.Contains("still run", StringComparison.Ordinal), output);
        harness.WriteSpec(Spec(ordersVersion: "2"));
        (code, output) = await harness.CliAsync("apply", "-f", spec, "--wait");
        outputs.AppendLine(output);
        Assert.True(code == 0, output);
        Assert.Equal(0L, await postgres.ScalarAsync("SELECT count(*) FROM information_schema.columns WHERE table_name = 'orders' AND column_name = 'note'", "orders"));

        // No password reached any output.
        foreach (var secret in new[] { ordersConnection.Password!, new NpgsqlConnectionStringBuilder(billing["ConnectionStrings__billing"]).Password!, postgres.Password })
        {
            Assert.DoesNotContain(secret, outputs.ToString(), StringComparison.Ordinal);
        }
    }
}
