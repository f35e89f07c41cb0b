using Flotilla.Tests.Support;

namespace Flotilla.Tests.EndToEnd;

/// <summary>
/// <c>flotilla db shell</c> through a real server and CLI: psql on a real PostgreSQL as the owner
/// (read-write) or the application's role (read-only), sqlite3 on a service's file, the password in
/// no output and no file left behind, and a clear error when the client program is missing.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class DatabaseShellTests
{
    private static readonly string App = Path.Combine(Repository.Root, "examples", "shop", "services", "Reviews");

    private static string Spec => $$"""
        name: shell-test
        engines:
          pg: { kind: postgres, external: { secret: pg-admin } }
        services:
          orders:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: {{App}}
            http: { health: /healthz, ready: /ready }
            database: { engine: pg, migrations: orders-db }
          reviews:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: {{App}}
            http: { health: /healthz, ready: /ready }
            database: { migrations: reviews-db }
        """;

    private static string[] Scratch() => [.. Directory.GetDirectories(Path.GetTempPath(), "flotilla-db-shell-*")];

    [Fact]
    public async Task Shell_OpensPsqlAndSqlite3_WithTheServicesCredentials_ReadOnlyWhenAsked_NeverPrintingThePassword()
    {
        await using var postgres = await PostgresInstance.StartNewAsync();
        using var harness = new ServerHarness();
        harness.WriteSpec(Spec);
        var spec = harness.SpecDirectory;
        Directory.CreateDirectory(Path.Combine(spec, "orders-db"));
        File.WriteAllText(Path.Combine(spec, "orders-db", "001_create.sql"), "CREATE TABLE orders (id serial PRIMARY KEY, total int NOT NULL);");
        Directory.CreateDirectory(Path.Combine(spec, "reviews-db"));
        File.WriteAllText(Path.Combine(spec, "reviews-db", "001_create.sql"), "CREATE TABLE reviews (id integer PRIMARY KEY, text TEXT);");
        var adminFile = Path.Combine(spec, "..", "pg-admin");
        File.WriteAllText(adminFile, postgres.AdminConnectionString);
        await harness.StartServerAsync();
        Assert.Equal(0, (await harness.CliAsync("secret", "set", "pg-admin", "--from-file", adminFile)).Code);
        var (code, output) = await harness.CliAsync("apply", "-f", spec, "--wait");
        Assert.True(code == 0, output);
        var before = Scratch();
        var outputs = new List<string>();
        async Task<(int Code, string Output)> Shell(params string[] args)
        {
            var result = await harness.CliAsync(["db", "shell", .. args]);
            outputs.Add(result.Output);
            return result;
        }

        // Read-write: the owner's role, which may change the schema too.
        (code, output) = await Shell("orders", "-c", "INSERT INTO orders (total) VALUES (42); SELECT current_user, count(*) FROM orders;");
        Assert.True(code == 0 && output.Contains("orders_owner", StringComparison.Ordinal) && output.Contains("psql on database orders at 127.0.0.1:" + postgres.Port, StringComparison.Ordinal), output);
        Assert.Equal(1L, await postgres.ScalarAsync("SELECT count(*) FROM orders WHERE total = 42", "orders"));

        // Read-only: the application's role, and a write is refused by PostgreSQL.
        (code, output) = await Shell("orders", "--readonly", "-c", "SELECT current_user, sum(total) FROM orders;");
        Assert.True(code == 0 && output.Contains("orders_app", StringComparison.Ordinal) && output.Contains("42", StringComparison.Ordinal), output);
        (code, output) = await Shell("orders", "--readonly", "-c", "INSERT INTO orders (total) VALUES (1);");
        Assert.True(code != 0 && output.Contains("read-only transaction", StringComparison.Ordinal), output);
        Assert.Equal(1L, await postgres.ScalarAsync("SELECT count(*) FROM orders", "orders"));

        // SQLite: sqlite3 on the service's file; -readonly refuses a write.
        (code, output) = await Shell("reviews", "-c", "INSERT INTO reviews VALUES (1, 'good'); SELECT count(*) FROM reviews;");
        Assert.True(code == 0 && output.Contains(Path.Combine(harness.DataDirectory, "databases", "reviews", "reviews.db"), StringComparison.Ordinal), output);
        (code, output) = await Shell("reviews", "--readonly", "-c", "INSERT INTO reviews VALUES (2, 'bad');");
        Assert.True(code != 0 && output.Contains("readonly database", StringComparison.Ordinal), output);

        // A service without a database, and a client program that is not installed: said plainly.
        (code, output) = await Shell("nope");
        Assert.True(code == 1 && output.Contains("service 'nope' has no database", StringComparison.Ordinal), output);
        using var empty = new TempDirectory("flotilla-no-psql");
        (code, output) = await ServerHarness.CliAsync(new Dictionary<string, string>(harness.Env) { ["PATH"] = empty.Path }, "db", "shell", "orders");
        outputs.Add(output);
        Assert.True(code == 1 && output.Contains("psql is not installed", StringComparison.Ordinal) && output.Contains("apt-get install postgresql-client", StringComparison.Ordinal), output);

        // Each session is audited (who, which database, which role); no password in any output, no pgpass file left.
        Assert.Contains("db shell", (await harness.JsonAsync("history", "--audit")).ToJsonString(), StringComparison.Ordinal);
        // (The read-only sessions used the application's password, which its instance has.)
        var pid = (int)(await harness.JsonAsync("ps")).AsArray().Single(i => (string?)i!["service"] == "orders")!["pid"]!;
        var app = File.ReadAllText($"/proc/{pid}/environ").Split('\0').Single(v => v.StartsWith("ConnectionStrings__orders=", StringComparison.Ordinal));
        var password = new Npgsql.NpgsqlConnectionStringBuilder(app["ConnectionStrings__orders=".Length..]).Password!;
        Assert.True(password.Length >= 32);
        foreach (var text in outputs)
        {
            Assert.DoesNotContain(password, text, StringComparison.Ordinal);
            Assert.DoesNotContain(postgres.Password, text, StringComparison.Ordinal);
        }
        Assert.Equal(before, Scratch());
    }
}
