using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Flotilla.Hosting;
using Flotilla.Model;
using Flotilla.Runtime;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.EndToEnd;

/// <summary>The example shop brought up for real: real builds, processes, sockets and HTTP.</summary>
[Collection(ProcessHeavy.Name)]
public sealed class ShopTests(ShopFixture shop) : IClassFixture<ShopFixture>
{
    private static readonly TimeSpan Converge = TimeSpan.FromSeconds(60);

    private static async Task<JsonObject> GetJson(HttpClient client, string url) =>
        JsonNode.Parse(await client.GetStringAsync(url))!.AsObject();

    private async Task<T> WithShop<T>(Func<ControlPlane, Task<T>> body, SystemSpec? spec = null)
    {
        var host = await shop.StartAsync(spec);
        try
        {
            await host.WaitUntilConvergedAsync(Converge);
            return await body(host);
        }
        finally
        {
            await ShopFixture.StopAsync(host);
            Assert.Empty(ProcessScan.Mentioning(shop.StateDirectory));
            Assert.Empty(Directory.Exists(Path.Combine(host.DataDirectory, "instances")) ? Directory.GetDirectories(Path.Combine(host.DataDirectory, "instances")) : []);
        }
    }

    [Fact]
    public Task Shop_ComesUp_AndEveryServiceAnswersThroughItsStableEndpoint() => WithShop(async host =>
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        var endpoints = host.Status().Services.ToDictionary(s => s.Name, s => s.Endpoint!);
        Assert.Equal(["catalog", "invoices", "orders", "reviews"], endpoints.Keys.Order());
        Assert.Equal("catalog", (string?)(await GetJson(client, endpoints["catalog"]))["service"]);
        Assert.Equal("reviews 1.0.0", (string?)(await GetJson(client, endpoints["reviews"]))["version"]);

        // orders calls catalog, invoices and reviews through the injected endpoints.
        var order = await GetJson(client, $"{endpoints["orders"]}/orders/1");
        Assert.Equal("orders 1.0.0", (string?)order["version"]);
        Assert.Equal(18.00m, order["invoice"]!["total"]!.GetValue<decimal>());
        Assert.Equal("invoices 1.0.0", (string?)order["invoice"]!["version"]);
        Assert.NotEmpty(order["reviews"]!.AsArray());

        // Converged: further passes (the loop runs every second and on every probe change) do nothing.
        // Counted, not slept on: three passes that ran, none of which acted.
        var (passes, active) = (host.ReconcilePasses, host.ActiveReconcilePasses);
        await Eventually.Until(() => host.ReconcilePasses >= passes + 3, Converge, "three more reconcile passes");
        Assert.Equal(active, host.ActiveReconcilePasses);

        // Requests are spread over the instances.
        var seen = new HashSet<string>();
        for (var i = 0; i < 12; i++)
        {
            seen.Add((string)(await GetJson(client, $"{endpoints["orders"]}/"))["instance"]!);
        }
        Assert.Equal(3, seen.Count);
        return true;
    });

    [Fact]
    public Task KilledInstance_IsReplaced_WithoutFailedRequests() => WithShop(async host =>
    {
        var catalog = host.Status().Services.Single(s => s.Name == "catalog");
        var victim = catalog.Instances[0];
        using var load = new LoadClient($"{catalog.Endpoint}/items", concurrency: 4);

        await Task.Delay(500);
        Assert.True(Posix.SignalGroup(victim.Pid, Posix.SIGKILL));
        await Eventually.Until(() =>
        {
            var now = host.Status().Services.Single(s => s.Name == "catalog");
            return now.Ready == 2 && now.Instances.All(i => i.Id != victim.Id && i.State == InstanceState.Ready);
        }, Converge, "a ready replacement of the killed instance");
        await Task.Delay(500);
        var result = await load.StopAsync();

        Assert.True(result.Ok > 100, $"only {result.Ok} requests went through");
        Assert.Equal(0, result.Failed);
        Assert.Equal(1, host.Status().Services.Single(s => s.Name == "catalog").Restarts);
        Assert.Contains(host.Events.Since(0), e => e.Subject == victim.Id && e.Message.Contains("killed by SIGKILL", StringComparison.Ordinal));
        return true;
    });

    [Fact]
    public Task ScaleUpAndDown_Converges_AndStoppedInstancesAreGone() => WithShop(async host =>
    {
        await host.ScaleAsync("invoices", 4, "test");
        await Eventually.Until(() => host.Status().Services.Single(s => s.Name == "invoices").Ready == 4, Converge, "4 ready invoices instances");

        var before = host.Status().Services.Single(s => s.Name == "invoices").Instances.Select(i => i.Pid).ToList();
        await host.ScaleAsync("invoices", 1, "test");
        await Eventually.Until(() => host.Status().Services.Single(s => s.Name == "invoices").Instances.Count == 1, Converge, "1 invoices instance");

        var kept = host.Status().Services.Single(s => s.Name == "invoices").Instances.Single();
        Assert.Equal(InstanceState.Ready, kept.State);
        Assert.All(before.Where(p => p != kept.Pid), pid => Assert.False(File.Exists($"/proc/{pid}/cmdline"), $"pid {pid} still runs"));
        Assert.Equal(ControlPlaneError.Invalid, (await Assert.ThrowsAsync<ControlPlaneException>(() => host.ScaleAsync("invoices", -1, "test"))).Kind);
        Assert.Equal(ControlPlaneError.NotFound, (await Assert.ThrowsAsync<ControlPlaneException>(() => host.ScaleAsync("nope", 1, "test"))).Kind);
        Assert.Contains(host.Store.Audit(), a => a.Action == "scale" && a.Detail.StartsWith("invoices scaled to 1", StringComparison.Ordinal));
        return true;
    });

    [Fact]
    public async Task CrashingService_IsShownInCrashLoop_WithItsLog_WhileOthersKeepServing()
    {
        var crashing = new ServiceSpec
        {
            Name = "broken",
            Command = ["sh", "-c", "echo 'fatal: cannot open config.toml' >&2; exit 2"],
            Instances = 1,
            Restart = new RestartSpec(TimeSpan.FromMilliseconds(200), TimeSpan.FromSeconds(2)),
            At = shop.Spec.Services[0].At,
        };
        var spec = shop.Spec with { Services = [.. shop.Spec.Services, crashing] };
        var host = await shop.StartAsync(spec);
        try
        {
            await Eventually.Until(() => host.Status().Services.Single(s => s.Name == "broken").Restarts >= 3, Converge, "three restarts of the broken service");
            var broken = host.Status().Services.Single(s => s.Name == "broken");
            Assert.Contains("fatal: cannot open config.toml", broken.Problem, StringComparison.Ordinal);
            await Eventually.Until(() => host.Events.Since(0).Any(e => e.Subject == "broken" && e.Message.StartsWith("crash loop", StringComparison.Ordinal)), Converge, "the crash-loop event");

            var catalog = host.Status().Services.Single(s => s.Name == "catalog");
            await Eventually.Until(() => host.Status().Services.Single(s => s.Name == "catalog").Ready == 2, Converge, "catalog ready");
            using var client = new HttpClient();
            Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(catalog.Endpoint + "/items")).StatusCode);
        }
        finally
        {
            await ShopFixture.StopAsync(host);
        }
        Assert.Empty(ProcessScan.Mentioning(shop.StateDirectory));
    }

    [Fact]
    public Task TakenPort_AndFailedBuild_RejectTheWholeApply_AndChangeNothing() => WithShop(async host =>
    {
        using var broken = new TempDirectory("flotilla-broken");
        broken.Write("Broken.csproj", "<Project Sdk=\"Microsoft.NET.Sdk.Web\"><PropertyGroup><TargetFramework>net10.0</TargetFramework></PropertyGroup></Project>");
        broken.Write("Program.cs", "this is not C#");
        using var squatter = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var taken = ((IPEndPoint)squatter.LocalEndpoint).Port;
        var before = host.Status();

        var portClash = shop.Spec.Services.Select(s => s.Name == "invoices" ? s with { Http = s.Http with { Port = taken } } : s).ToList();
        var clash = await Assert.ThrowsAsync<ControlPlaneException>(() => host.ApplyAsync(shop.Spec with { Services = portClash }));
        Assert.Contains($"service 'invoices': endpoint port {taken} is already in use", clash.Message, StringComparison.Ordinal);

        var noBuild = shop.Spec.Services.Append(new ServiceSpec { Name = "nobuild", Build = Path.Combine(broken.Path, "Broken.csproj"), At = shop.Spec.Services[0].At }).ToList();
        var build = await Assert.ThrowsAsync<Artifacts.ArtifactBuildException>(() => host.ApplyAsync(shop.Spec with { Services = noBuild }));
        Assert.Contains(build.OutputTail, l => l.Contains("error CS", StringComparison.Ordinal));

        // Nothing was applied: same revision, same endpoints, same instances, still serving.
        var after = host.Status();
        Assert.Equal(before.Revision, after.Revision);
        Assert.Equal(before.Services.Select(s => (s.Name, s.EndpointPort)), after.Services.Select(s => (s.Name, s.EndpointPort)));
        Assert.Equal(before.Services.SelectMany(s => s.Instances).Select(i => i.Id).Order(), after.Services.SelectMany(s => s.Instances).Select(i => i.Id).Order());
        using var client = new HttpClient();
        Assert.Equal(HttpStatusCode.OK, (await client.GetAsync(after.Services.Single(s => s.Name == "catalog").Endpoint + "/items")).StatusCode);
        return true;
    });

    [Fact]
    public async Task Orders_KeepsItsOrdersInItsOwnDatabase_SqliteByDefault_PostgresInProd()
    {
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        async Task<long> PlaceAndReadBack(string endpoint, string engine)
        {
            Assert.Equal(engine, (string?)(await GetJson(client, endpoint + "/"))["database"]);
            using var placed = await client.PostAsJsonAsync(endpoint + "/orders", new { itemId = 2, quantity = 5 });
            Assert.Equal(HttpStatusCode.Created, placed.StatusCode);
            var id = JsonNode.Parse(await placed.Content.ReadAsStringAsync())!["id"]!.GetValue<long>();
            // Read back through the other instances too: the order is in the database they share, not in one's memory.
            for (var i = 0; i < 6; i++)
            {
                var order = await GetJson(client, $"{endpoint}/orders/{id}");
                Assert.Equal((5, "placed"), (order["quantity"]!.GetValue<int>(), (string?)order["status"]));
            }
            // The rows the migrations seeded, with the column the second one added.
            Assert.Equal("placed", (string?)(await GetJson(client, $"{endpoint}/orders/1"))["status"]);
            return id;
        }

        // The default: a SQLite file of its own under the data directory, which both migrations made.
        await WithShop(async host =>
        {
            var id = await PlaceAndReadBack(host.Status().Services.Single(s => s.Name == "orders").Endpoint!, "sqlite");
            var file = Path.Combine(host.DataDirectory, "databases", "orders", "orders.db");
            await using var sqlite = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
            await sqlite.OpenAsync();
            await using var command = sqlite.CreateCommand();
            command.CommandText = $"SELECT count(*) FROM orders WHERE id = {id}";
            Assert.Equal(1L, await command.ExecuteScalarAsync());
            return true;
        });

        // prod: the same migrations and code on the PostgreSQL Flotilla runs (with a replica), by one overlay.
        var prod = ShopFixture.Load("prod");
        Assert.Equal(("pg", 1), (prod.Services.Single(s => s.Name == "orders").Database!.Engine, prod.EngineList.Single().Replicas));
        await WithShop(async host =>
        {
            var id = await PlaceAndReadBack(host.Status().Services.Single(s => s.Name == "orders").Endpoint!, "postgres");
            var connection = host.Secrets.Get(Flotilla.Databases.DatabaseSecretNames.App("orders"))!;
            await using var postgres = new Npgsql.NpgsqlConnection(new Npgsql.NpgsqlConnectionStringBuilder(connection) { Pooling = false }.ToString());
            await postgres.OpenAsync();
            await using var command = new Npgsql.NpgsqlCommand($"SELECT count(*) FROM orders WHERE id = {id}", postgres);
            Assert.Equal(1L, await command.ExecuteScalarAsync());
            Assert.All(host.Status().Services.Single(s => s.Name == "orders").Instances,
                i => Assert.Contains("ConnectionStrings__orders_readonly=", File.ReadAllText($"/proc/{i.Pid}/environ"), StringComparison.Ordinal));
            return true;
        }, prod);
    }
}
