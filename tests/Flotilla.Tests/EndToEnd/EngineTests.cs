using Flotilla.Runtime;
using Flotilla.Tests.Support;
using Npgsql;

namespace Flotilla.Tests.EndToEnd;

/// <summary>
/// The PostgreSQL engine Flotilla runs itself (Debian's, as the postgres user): created by the
/// first apply, supervised (kill -9 of the primary: restarted, no committed write lost), adopted
/// by a restarted server, a streaming replica with its lag in status and rebuilt when it dies,
/// and stopped but not deleted by shutdown --stop-all.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class EngineTests
{
    private static readonly string App = Path.Combine(Repository.Root, "examples", "shop", "services", "Reviews");

    private static readonly string Spec = $$"""
        name: engine-test
        engines:
          pg: { kind: postgres, replicas: 1 }
        services:
          orders:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: {{App}}
            http: { health: /healthz, ready: /ready }
            database: { engine: pg, migrations: orders-db }
        """;

    private static Dictionary<string, string> Environ(int pid) => File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries)
        .Select(v => v.Split('=', 2)).ToDictionary(v => v[0], v => v[1], StringComparer.Ordinal);

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, Timeout = 3 }.ToString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    private static int PostmasterPid(string dataDirectory, string role) =>
        int.Parse(File.ReadLines(Path.Combine(dataDirectory, "engines", "pg", role, "data", "postmaster.pid")).First(), System.Globalization.CultureInfo.InvariantCulture);

    [Fact]
    public async Task AnEngineFlotillaRuns_IsSupervised_Replicated_Adopted_AndKeptOnShutdown()
    {
        using var harness = new ServerHarness();
        harness.WriteSpec(Spec);
        Directory.CreateDirectory(Path.Combine(harness.SpecDirectory, "orders-db"));
        File.WriteAllText(Path.Combine(harness.SpecDirectory, "orders-db", "001_create.sql"), "CREATE TABLE orders (id serial PRIMARY KEY, total int NOT NULL);");
        var server = await harness.StartServerAsync();
        var (code, output) = await harness.CliAsync("apply", "-f", harness.SpecDirectory, "--wait");
        Assert.True(code == 0, output);

        var env = Environ((int)(await harness.JsonAsync("ps")).AsArray().Single()!["pid"]!);
        var primary = env["ConnectionStrings__orders"];
        var readOnly = env["ConnectionStrings__orders_readonly"];
        await ScalarAsync(primary, "INSERT INTO orders (total) VALUES (1)");
        // The replica streams synchronously once it is up: a committed row is on it.
        await Eventually.Until(async () => (await harness.CliAsync("db", "status")).Output.Contains("replica-1 streaming quorum", StringComparison.Ordinal), ServerHarness.Wait, "the replica to stream synchronously");
        var replicaOnly = new NpgsqlConnectionStringBuilder(readOnly) { TargetSessionAttributes = "standby" }.ToString();
        Assert.Equal(1L, await ScalarAsync(replicaOnly, "SELECT count(*) FROM orders"));
        Assert.Equal(true, await ScalarAsync(replicaOnly, "SELECT pg_is_in_recovery()"));

        // kill -9 of the primary: clients get a clear connection error, Flotilla restarts it, no committed write is lost.
        await ScalarAsync(primary, "INSERT INTO orders (total) VALUES (2)");
        var pid = PostmasterPid(harness.DataDirectory, "primary");
        Posix.Signal(pid, Posix.SIGKILL);
        await Eventually.Until(() => !Posix.IsRunning(pid, null), ServerHarness.Wait, "the primary to die");
        var error = await Assert.ThrowsAnyAsync<NpgsqlException>(() => ScalarAsync(primary, "SELECT 1"));
        Assert.False(string.IsNullOrEmpty(error.Message));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Eventually.Until(async () =>
        {
            try
            {
                await ScalarAsync(primary, "INSERT INTO orders (total) VALUES (3)");
                return true;
            }
            catch (NpgsqlException)
            {
                return false;
            }
        }, ServerHarness.Wait, "writes to succeed again");
        Assert.Equal(6L, Convert.ToInt64(await ScalarAsync(primary, "SELECT sum(total) FROM orders"), System.Globalization.CultureInfo.InvariantCulture));
        Assert.Contains("primary (port", (await harness.CliAsync("events")).Output, StringComparison.Ordinal);
        Console.WriteLine($"kill -9 of the primary to a write succeeding again: {clock.ElapsedMilliseconds} ms (bound by the test's 100 ms retry)");

        // A dead replica is started again (and, dying again and again, rebuilt from the primary).
        var replica = PostmasterPid(harness.DataDirectory, "replica-1");
        Posix.Signal(replica, Posix.SIGKILL);
        await Eventually.Until(async () => PostmasterPidOrZero(harness.DataDirectory, "replica-1") is var now && now != replica && now != 0
            && (await harness.CliAsync("db", "status")).Output.Contains("replica-1 streaming", StringComparison.Ordinal), ServerHarness.Wait, "the replica to be back and streaming");

        // A replica that cannot start any more (its control file lost) is rebuilt from the primary, and has every row.
        replica = PostmasterPid(harness.DataDirectory, "replica-1");
        File.Delete(Path.Combine(harness.DataDirectory, "engines", "pg", "replica-1", "data", "global", "pg_control"));
        Posix.Signal(replica, Posix.SIGKILL);
        await Eventually.Until(async () => (await harness.CliAsync("events")).Output.Contains("rebuilding it from the primary", StringComparison.Ordinal)
            && (await harness.CliAsync("db", "status")).Output.Contains("replica-1 streaming", StringComparison.Ordinal), ServerHarness.Wait, "the replica to be rebuilt and streaming");
        await Eventually.Until(async () => Equals(await ScalarAsync(replicaOnly, "SELECT count(*) FROM orders"), 3L), ServerHarness.Wait, "the rebuilt replica to have every row");
        Assert.DoesNotContain("could not be freed", (await harness.CliAsync("events")).Output, StringComparison.Ordinal);

        // A restarted control plane adopts the running servers: same pids.
        var primaryPid = PostmasterPid(harness.DataDirectory, "primary");
        var replicaPid = PostmasterPid(harness.DataDirectory, "replica-1");
        Posix.Signal(server.Pid, Posix.SIGKILL);
        await server.WaitForExitAsync(ServerHarness.Wait);
        await harness.StartServerAsync();
        await Task.Delay(2000);
        Assert.Equal((primaryPid, replicaPid), (PostmasterPid(harness.DataDirectory, "primary"), PostmasterPid(harness.DataDirectory, "replica-1")));
        Assert.Equal(1, await ScalarAsync(primary, "SELECT 1"));

        // shutdown --stop-all stops the servers and keeps their data.
        Assert.Equal(0, (await harness.CliAsync("shutdown", "--stop-all")).Code);
        Assert.Equal(0, await harness.Server.WaitForExitAsync(ServerHarness.Wait));
        Assert.False(Posix.IsRunning(primaryPid, null) || Posix.IsRunning(replicaPid, null));
        Assert.True(File.Exists(Path.Combine(harness.DataDirectory, "engines", "pg", "primary", "data", "PG_VERSION")));
        Assert.Empty(harness.DataPlanePids());
    }

    private static int PostmasterPidOrZero(string dataDirectory, string role)
    {
        try
        {
            var pid = PostmasterPid(dataDirectory, role);
            return Posix.IsRunning(pid, null) ? pid : 0;
        }
        catch (IOException)
        {
            return 0;
        }
    }
}
