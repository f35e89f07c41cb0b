using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Flotilla.Runtime;
using Flotilla.Tests.Support;
using Npgsql;

namespace Flotilla.Tests.EndToEnd;

/// <summary>
/// Failover of the PostgreSQL engine Flotilla runs, through a real service (the example shop's
/// orders, C# with Npgsql, its injected multi-host connection string untouched): writes go on
/// while the primary is killed with kill -9, the synchronous replica is promoted, every write the
/// service acknowledged is on the new primary, the old primary comes back as a replica of it
/// (fenced, copied again), and a restarted control plane keeps the new topology.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class EngineFailoverTests
{
    private static readonly string Orders = Path.Combine(Repository.Root, "examples", "shop", "services", "Orders");

    private static readonly string Spec = $$"""
        name: failover-test
        engines:
          pg: { kind: postgres, replicas: 1, failover: 0s }
        services:
          orders:
            build: {{Orders}}
            http: { health: /healthz, ready: /ready }
            env: { services__catalog__http__0: "http://127.0.0.1:1", services__invoices__http__0: "http://127.0.0.1:1", services__reviews__http__0: "http://127.0.0.1:1" }
            database: { engine: pg, migrations: orders-db }
        """;

    private static async Task<object?> ScalarAsync(string connectionString, string sql)
    {
        await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(connectionString) { Pooling = false, Timeout = 3 }.ToString());
        await connection.OpenAsync();
        await using var command = new NpgsqlCommand(sql, connection);
        return await command.ExecuteScalarAsync();
    }

    private static int PostmasterPid(string dataDirectory, string role) =>
        int.Parse(File.ReadLines(Path.Combine(dataDirectory, "engines", "pg", role, "data", "postmaster.pid")).First(), System.Globalization.CultureInfo.InvariantCulture);

    private static Dictionary<string, string> Environ(int pid) => File.ReadAllText($"/proc/{pid}/environ").Split('\0', StringSplitOptions.RemoveEmptyEntries)
        .Select(v => v.Split('=', 2)).ToDictionary(v => v[0], v => v[1], StringComparer.Ordinal);

    [Fact]
    public async Task KillingThePrimary_PromotesTheReplica_LosesNoAcknowledgedWrite_AndFencesTheOldOne()
    {
        using var harness = new ServerHarness();
        harness.WriteSpec(Spec);
        Directory.CreateDirectory(Path.Combine(harness.SpecDirectory, "orders-db"));
        foreach (var file in Directory.GetFiles(Path.Combine(Repository.Root, "examples", "shop", "db", "orders"), "*.sql"))
        {
            File.Copy(file, Path.Combine(harness.SpecDirectory, "orders-db", Path.GetFileName(file)));
        }
        var server = await harness.StartServerAsync();
        var (code, output) = await harness.CliAsync("apply", "-f", harness.SpecDirectory, "--wait");
        Assert.True(code == 0, output);
        var instance = (await harness.JsonAsync("ps")).AsArray().Single()!;
        var connectionString = Environ((int)instance["pid"]!)["ConnectionStrings__orders"];
        Assert.Contains("Target Session Attributes=primary", connectionString, StringComparison.Ordinal);
        await Eventually.Until(async () => (await harness.CliAsync("db", "status")).Output.Contains("replica-1 streaming quorum", StringComparison.Ordinal), ServerHarness.Wait, "the replica to stream synchronously");

        // Writes through the service, every 20 ms, each acknowledged id kept; the primary is killed among them.
        using var http = new HttpClient { BaseAddress = new Uri($"http://127.0.0.1:{(int)instance["port"]!}"), Timeout = TimeSpan.FromSeconds(5) };
        var acknowledged = new List<long>();
        var refused = 0;
        DateTimeOffset? firstAfterKill = null;
        DateTimeOffset? killedAt = null;
        using var stop = new CancellationTokenSource();
        var writer = Task.Run(async () =>
        {
            while (!stop.IsCancellationRequested)
            {
                // A write counts for the measure only if it was sent after the kill (one in flight may have committed before).
                bool afterKill;
                lock (acknowledged)
                {
                    afterKill = killedAt is not null;
                }
                try
                {
                    using var response = await http.PostAsJsonAsync("/orders", new { itemId = 1, quantity = 1 });
                    if (response.IsSuccessStatusCode)
                    {
                        var id = (long)(await response.Content.ReadFromJsonAsync<JsonObject>())!["id"]!;
                        lock (acknowledged)
                        {
                            acknowledged.Add(id);
                            if (afterKill && firstAfterKill is null)
                            {
                                firstAfterKill = DateTimeOffset.UtcNow;
                            }
                        }
                    }
                    else
                    {
                        refused += afterKill ? 1 : 0;
                    }
                }
                catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
                {
                    refused += afterKill ? 1 : 0;
                }
                await Task.Delay(20);
            }
        });
        await Eventually.Until(() => { lock (acknowledged) { return acknowledged.Count >= 30; } }, ServerHarness.Wait, "writes through the service");
        var oldPrimary = PostmasterPid(harness.DataDirectory, "primary");
        lock (acknowledged)
        {
            killedAt = DateTimeOffset.UtcNow;
        }
        Posix.Signal(oldPrimary, Posix.SIGKILL);
        await Eventually.Until(() => { lock (acknowledged) { return firstAfterKill is not null && acknowledged.Count >= 60; } }, ServerHarness.Wait, "writes to succeed again after the kill");
        await stop.CancelAsync();
        await writer;
        Console.WriteLine($"kill -9 of the primary to a write through the service succeeding again: {(firstAfterKill!.Value - killedAt!.Value).TotalMilliseconds:0} ms ({refused} refused meanwhile)");

        // The replica was promoted: status and events say so, and every acknowledged write is on it.
        var events = (await harness.CliAsync("events")).Output;
        Assert.Contains("failover: engine 'pg' primary (port", events, StringComparison.Ordinal);
        Assert.Contains("replica-1 (port", events, StringComparison.Ordinal);
        var status = (await harness.CliAsync("db", "status")).Output;
        Assert.Contains("replica-1 [primary]", status, StringComparison.Ordinal);
        Assert.Equal("replica-1\n", File.ReadAllText(Path.Combine(harness.DataDirectory, "engines", "pg", "leader")));
        var newPrimaryPort = (int)(await harness.JsonAsync("db", "status")).AsObject()["servers"]!.AsArray().Single(s => (bool)s!["primary"]!)!["port"]!;
        var admin = new NpgsqlConnectionStringBuilder(connectionString) { Host = "127.0.0.1", Port = newPrimaryPort, TargetSessionAttributes = null }.ToString();
        Assert.Equal(false, await ScalarAsync(admin, "SELECT pg_is_in_recovery()"));
        var ids = string.Join(",", acknowledged);
        Assert.Equal((long)acknowledged.Count, await ScalarAsync(admin, $"SELECT count(*) FROM orders WHERE id IN ({ids})"));

        // The old primary is fenced and copied again as a replica of the new one, streaming synchronously.
        await Eventually.Until(async () => (await harness.CliAsync("db", "status")).Output.Contains("primary streaming quorum", StringComparison.Ordinal), ServerHarness.Wait, "the old primary to stream from the new one");
        var oldPort = (int)(await harness.JsonAsync("db", "status")).AsObject()["servers"]!.AsArray().Single(s => (string?)s!["role"] == "primary")!["port"]!;
        var onOld = new NpgsqlConnectionStringBuilder(admin) { Port = oldPort }.ToString();
        Assert.Equal(true, await ScalarAsync(onOld, "SELECT pg_is_in_recovery()"));
        Assert.Contains("fenced", (await harness.CliAsync("events")).Output, StringComparison.Ordinal);
        // The service's _readonly string reaches the rebuilt replica, which has every acknowledged write.
        var readOnly = new NpgsqlConnectionStringBuilder(Environ((int)instance["pid"]!)["ConnectionStrings__orders_readonly"]) { TargetSessionAttributes = "standby" }.ToString();
        await Eventually.Until(async () => Equals(await ScalarAsync(readOnly, $"SELECT count(*) FROM orders WHERE id IN ({ids})"), (long)acknowledged.Count), ServerHarness.Wait, "the rebuilt replica to have every acknowledged write");

        // A restarted control plane keeps the new topology: the old primary stays a replica, the service still writes.
        Posix.Signal(server.Pid, Posix.SIGKILL);
        await server.WaitForExitAsync(ServerHarness.Wait);
        await harness.StartServerAsync();
        await Task.Delay(2000);
        Assert.Equal(true, await ScalarAsync(onOld, "SELECT pg_is_in_recovery()"));
        Assert.Contains("replica-1 [primary]", (await harness.CliAsync("db", "status")).Output, StringComparison.Ordinal);
        using (var response = await http.PostAsJsonAsync("/orders", new { itemId = 1, quantity = 1 }))
        {
            Assert.True(response.IsSuccessStatusCode, await response.Content.ReadAsStringAsync());
        }

        // The injected strings did not change with the failover: an apply (a slower failover now) keeps the instance.
        harness.WriteSpec(Spec.Replace("failover: 0s", "failover: 5m", StringComparison.Ordinal));
        (code, output) = await harness.CliAsync("apply", "-f", harness.SpecDirectory, "--wait");
        Assert.True(code == 0, output);
        Assert.Equal((int)instance["pid"]!, (int)(await harness.JsonAsync("ps")).AsArray().Single()!["pid"]!);

        // The primary's data directory lost: never an empty new primary; the replica is promoted at once, not after 5 minutes.
        var dataDirectory = Path.Combine(harness.DataDirectory, "engines", "pg", "replica-1", "data");
        var primaryPid = PostmasterPid(harness.DataDirectory, "replica-1");
        Directory.Move(dataDirectory, dataDirectory + ".lost");
        Posix.Signal(primaryPid, Posix.SIGKILL);
        await Eventually.Until(async () => (await harness.CliAsync("events")).Output.Contains("lost its data directory", StringComparison.Ordinal), TimeSpan.FromSeconds(30), "a failover for the lost directory");
        await Eventually.Until(async () =>
        {
            using var response = await http.PostAsJsonAsync("/orders", new { itemId = 1, quantity = 1 });
            return response.IsSuccessStatusCode;
        }, TimeSpan.FromSeconds(30), "writes through the service on the primary slot again");
        Assert.Equal((long)acknowledged.Count, await ScalarAsync(onOld, $"SELECT count(*) FROM orders WHERE id IN ({ids})"));
        Assert.Equal(false, await ScalarAsync(onOld, "SELECT pg_is_in_recovery()"));
        await Eventually.Until(async () => (await harness.CliAsync("db", "status")).Output.Contains("replica-1 streaming", StringComparison.Ordinal), ServerHarness.Wait, "the lost member to be copied again as a replica");

        Assert.Equal(0, (await harness.CliAsync("shutdown", "--stop-all")).Code);
        Assert.Equal(0, await harness.Server.WaitForExitAsync(ServerHarness.Wait));
        Assert.Empty(harness.DataPlanePids());
    }
}
