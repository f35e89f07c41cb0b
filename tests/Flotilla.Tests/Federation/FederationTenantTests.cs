using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using Flotilla.Api;
using Flotilla.Federation;
using Flotilla.Hosting;
using Flotilla.Tenancy;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Federation;

/// <summary>
/// Federation inside tenants, through a real server in-process (API on a loopback socket, real
/// processes on local clusters): a tenant's federated environment is its own (another tenant's
/// every role gets the answers of a name that exists nowhere, and the same name starts its own), it
/// lives in the tenant's directory and comes back with a restart, and its quota counts every cluster.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class FederationTenantTests : IAsyncLifetime
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(90);
    private static readonly FederationOptions Fast = FastFederation.Options;

    private readonly TempDirectory _dir = new("flotilla-fedten");
    private readonly List<HttpClient> _clients = [];
    private ControlPlanes _planes = null!;
    private Federations _federations = null!;
    private ApiServer _api = null!;
    private string _operator = null!;

    private string Data => Path.Combine(_dir.Path, "data");

    private static string Spec(int instances, string clusters = "  - { name: canary, kind: local }\n  - { name: main, kind: local }") => $$"""
        name: shop
        services:
          web:
            command: [python3, -m, http.server, "${PORT}", --bind, 127.0.0.1]
            instances: {{instances}}
            http: { ready: / }
            timeouts: { start: 10s, stop: 2s }
        environments:
          shop: {}
        clusters:
        {{clusters}}
        """;

    public async Task InitializeAsync()
    {
        await StartAsync();
        _operator = _planes.Root.Store.CreateToken("op", TenantRoles.Operator, "test", DateTimeOffset.UtcNow);
        foreach (var tenant in new[] { "alpha", "bravo" })
        {
            Assert.Equal(HttpStatusCode.Created, (await Client(_operator).PostAsJsonAsync("v1/tenants", new TenantBody(tenant), ApiJson.Options)).StatusCode);
        }
    }

    private async Task StartAsync()
    {
        _planes = await ControlPlanes.StartAsync(new ControlPlaneOptions(Data));
        _federations = await Federations.StartAsync(new ControlPlaneOptions(Data), Fast, planes: _planes);
        _api = await ApiServer.StartAsync(_planes, new IPEndPoint(IPAddress.Loopback, 0), default, _federations);
    }

    /// <summary>Stops the server without stopping what runs (as 'flotilla server' exits) and starts it again: every cluster re-adopts its instances.</summary>
    private async Task RestartAsync()
    {
        await StopAsync(stopDataPlanes: false);
        await StartAsync();
    }

    private async Task StopAsync(bool stopDataPlanes)
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }
        _clients.Clear();
        await _api.DisposeAsync();
        if (stopDataPlanes)
        {
            await _federations.StopDataPlanesAsync();
            await _planes.StopDataPlanesAsync();
        }
        await _federations.DisposeAsync();
        await _planes.DisposeAsync();
    }

    public async Task DisposeAsync()
    {
        await StopAsync(stopDataPlanes: true);
        _dir.Dispose();
    }

    private HttpClient Client(string token, string? environment = null, string? cluster = null)
    {
        var client = new HttpClient { BaseAddress = new Uri(_api.Url + "/"), Timeout = TimeSpan.FromSeconds(60) };
        client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        if (environment is not null)
        {
            client.DefaultRequestHeaders.Add(ControlPlanes.EnvironmentHeader, environment);
        }
        if (cluster is not null)
        {
            client.DefaultRequestHeaders.Add(Federations.ClusterHeader, cluster);
        }
        _clients.Add(client);
        return client;
    }

    private async Task<string> TokenAsync(string tenant, string role)
    {
        var created = await Client(_operator).PostAsJsonAsync("v1/tokens", new TokenBody($"{tenant}-{role}", role, tenant), ApiJson.Options);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return (await created.Content.ReadFromJsonAsync<TokenResponse>(ApiJson.Options))!.Token;
    }

    private Task<HttpResponseMessage> ApplyAsync(string token, string environment, string spec) =>
        Client(token).PostAsJsonAsync("v1/apply", new ApplyBody(spec, _dir.Write("flotilla.yaml", spec), environment, null, null), ApiJson.Options);

    /// <summary>The answer's status, with its body in the failure when it is another.</summary>
    private static async Task Expect(HttpStatusCode expected, Task<HttpResponseMessage> sent)
    {
        var response = await sent;
        Assert.True(response.StatusCode == expected, $"expected {expected}, got {await Answer(response)}");
    }

    private static async Task<string> Answer(HttpResponseMessage response) => $"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}";

    /// <summary>An answer's JSON as text, without JSON's escapes of quotes (problem details quote names).</summary>
    private static async Task<string> Text(HttpResponseMessage response) =>
        System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!
            .ToJsonString(new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    /// <summary>What a caller gets for an environment, over every way it can reach a federated one (status and body, as text).</summary>
    private async Task<List<string>> AnswersAsync(string token, string environment) =>
    [
        await Answer(await Client(token, environment).GetAsync("v1/clusters")),
        await Answer(await Client(token, environment).GetAsync("v1/status")),
        await Answer(await Client(token, environment, "canary").GetAsync("v1/status")),
        await Answer(await Client(token, environment, "main").GetAsync("v1/services/web/logs?tail=5")),
        await Answer(await Client(token, environment, "canary").PostAsJsonAsync("v1/services/web/scale", new ScaleBody(3), ApiJson.Options)),
        await Answer(await Client(token, environment, "canary").PostAsync("v1/zones/z/down", null)),
    ];

    [Fact]
    public async Task ATenantsFederation_IsItsOwn_AnotherTenantsEveryRoleSeesNothing_AndTheSameNameStartsItsOwn_AndARestartKeepsBoth()
    {
        var alpha = await TokenAsync("alpha", TenantRoles.Deployer);
        var bravo = new Dictionary<string, string>();
        foreach (var role in new[] { TenantRoles.Viewer, TenantRoles.Deployer, TenantRoles.Admin })
        {
            bravo[role] = await TokenAsync("bravo", role);
        }
        // What bravo's roles get for 'shop' while it exists nowhere: after alpha runs it, they must get exactly that.
        var before = new Dictionary<string, List<string>>();
        foreach (var (role, token) in bravo)
        {
            before[role] = await AnswersAsync(token, "shop");
        }
        Assert.All(before.Values.SelectMany(a => a), a => Assert.Matches("^40[34] ", a));

        await Expect(HttpStatusCode.Created, ApplyAsync(alpha, "shop", Spec(1)));
        var federation = _federations.Find("alpha", "shop")!;
        await Eventually.Until(() => federation.Status().AllHealthy && federation.Status().Clusters.Sum(c => c.Ready) == 2, Long, "alpha's two clusters to run one ready instance each");
        Assert.StartsWith(Path.Combine(Data, "tenants", "alpha", "federations", "shop"), federation.DataDirectory, StringComparison.Ordinal);
        Assert.True(File.Exists(Path.Combine(Data, "tenants", "alpha", "federations", "shop", "federation.json")));
        Assert.Null(_federations.Find("shop"));
        Assert.Null(_federations.Find("bravo", "shop"));
        var listed = await Client(alpha, "shop").GetFromJsonAsync<FederationStatus>("v1/clusters", ApiJson.Options);
        Assert.Equal(["canary", "main"], listed!.Clusters.Select(c => c.Name));
        Assert.Equal(HttpStatusCode.OK, (await Client(alpha, "shop", "main").GetAsync("v1/status")).StatusCode);

        foreach (var (role, token) in bravo)
        {
            Assert.Equal(before[role], await AnswersAsync(token, "shop"));
        }
        // Alpha's cluster was not scaled by bravo's attempts.
        Assert.All(federation.Clusters, c => Assert.Equal(1, federation.Plane(c)!.Composed().Single().Instances));

        // A viewer may not apply (the route decides: as for any name); bravo's deployer and admin start bravo's own 'shop'.
        var viewerApply = await ApplyAsync(bravo[TenantRoles.Viewer], "shop", Spec(0));
        Assert.Equal(await Answer(await ApplyAsync(bravo[TenantRoles.Viewer], "nowhere", Spec(0))), await Answer(viewerApply));
        await Expect(HttpStatusCode.Created, ApplyAsync(bravo[TenantRoles.Deployer], "shop", Spec(0)));
        await Expect(HttpStatusCode.OK, ApplyAsync(bravo[TenantRoles.Admin], "shop", Spec(0)));
        var own = _federations.Find("bravo", "shop")!;
        Assert.StartsWith(Path.Combine(Data, "tenants", "bravo", "federations", "shop"), own.DataDirectory, StringComparison.Ordinal);
        Assert.Equal((1L, "token:alpha/alpha-deployer"), (federation.Desired!.Number, federation.Desired.Actor));
        Assert.Equal(2, federation.Status().Clusters.Sum(c => c.Ready));

        // The default tenant's federation stays where it always was (federations/ENV), beside the tenants'.
        await Expect(HttpStatusCode.Created, ApplyAsync(_operator, "shop", Spec(0)));
        Assert.True(File.Exists(Path.Combine(Data, "federations", "shop", "federation.json")));

        await RestartAsync();
        Assert.Equal(1, _federations.Find("alpha", "shop")!.Desired!.Number);
        Assert.Equal(1, _federations.Find("bravo", "shop")!.Desired!.Number);
        Assert.Equal(1, _federations.Find("shop")!.Desired!.Number);
        federation = _federations.Find("alpha", "shop")!;
        await Eventually.Until(() => federation.Status().AllHealthy && federation.Status().Clusters.Sum(c => c.Ready) == 2, Long, "alpha's clusters to run ready again after the restart");
        // Bravo now runs its own 'shop' (no instances): it sees its own, never alpha's (its viewer's attempts to act are refused by the route).
        var answers = await AnswersAsync(bravo[TenantRoles.Viewer], "shop");
        Assert.DoesNotContain(answers, a => a.Contains("alpha", StringComparison.Ordinal) || a.Contains("Serving HTTP", StringComparison.Ordinal));
        var bravoClusters = await Client(bravo[TenantRoles.Viewer], "shop").GetFromJsonAsync<FederationStatus>("v1/clusters", ApiJson.Options);
        Assert.Equal("token:bravo/bravo-deployer", bravoClusters!.Actor);
        Assert.Equal(0, bravoClusters!.Clusters.Sum(c => c.Desired));
    }

    [Fact]
    public async Task ATenantsQuota_CountsEveryCluster_UpFront_AndRefusesWithNothingStarted()
    {
        var alpha = await TokenAsync("alpha", TenantRoles.Deployer);
        Assert.Equal(HttpStatusCode.OK, (await Client(_operator).PutAsJsonAsync("v1/tenants/alpha/quota", new TenantQuota(Instances: 3), ApiJson.Options)).StatusCode);

        // Two instances a cluster: each cluster alone fits, both together (4) do not.
        var refused = await ApplyAsync(alpha, "shop", Spec(2));
        Assert.True(refused.StatusCode == HttpStatusCode.Conflict, await Answer(refused));
        Assert.Contains("refused by the quota of tenant 'alpha', nothing was started: instances: quota 3, 0 in use, this change needs 4 where this environment takes 0 now, 4 in all",
            await Text(refused), StringComparison.Ordinal);
        Assert.Null(_federations.Find("alpha", "shop"));
        Assert.False(Directory.Exists(Path.Combine(Data, "tenants", "alpha", "federations", "shop", "clusters")));

        // An overlay counts: two on the canary, none on main fits.
        var overlaid = Spec(2, "  - { name: canary, kind: local }\n  - { name: main, kind: local, services: { web: { instances: 0 } } }");
        await Expect(HttpStatusCode.Created, ApplyAsync(alpha, "shop", overlaid));
        var federation = _federations.Find("alpha", "shop")!;
        await Eventually.Until(() => federation.Status().AllHealthy && federation.Status().Clusters.Sum(c => c.Ready) == 2, Long, "the canary to run two ready instances");

        // What the federation runs is the tenant's use: another environment of alpha's, and a change of the federation, are held to it.
        var plain = "name: shop\nservices:\n  web: { command: [python3, -m, http.server, \"${PORT}\"], instances: 2 }\nenvironments:\n  other: {}\n";
        var other = await ApplyAsync(alpha, "other", plain);
        Assert.Equal(HttpStatusCode.Conflict, other.StatusCode);
        Assert.Contains("instances: quota 3, 2 in use, this change needs 2 where this environment takes 0 now, 4 in all", await Text(other), StringComparison.Ordinal);
        var more = await ApplyAsync(alpha, "shop", Spec(2, "  - { name: canary, kind: local }\n  - { name: main, kind: local, services: { web: { instances: 2 } } }"));
        Assert.Equal(HttpStatusCode.Conflict, more.StatusCode);
        Assert.Contains("instances: quota 3, 2 in use, this change needs", await Text(more), StringComparison.Ordinal);
        // One cluster scaled on its own (--cluster) is held to the quota too.
        var scaled = await Client(alpha, "shop", "main").PostAsJsonAsync("v1/services/web/scale", new ScaleBody(2), ApiJson.Options);
        Assert.Equal(HttpStatusCode.Conflict, scaled.StatusCode);
        Assert.Contains("refused by the quota of tenant 'alpha'", await Text(scaled), StringComparison.Ordinal);
        Assert.Equal(1, federation.Desired!.Number);
        Assert.Equal(0, federation.Plane("main")!.Composed().Single().Instances);
        Assert.Equal(2, federation.Status().Clusters.Sum(c => c.Ready));

        // After a restart the clusters are counted and held to the quota as before.
        await RestartAsync();
        Assert.Equal(HttpStatusCode.Conflict, (await ApplyAsync(alpha, "other", plain)).StatusCode);
        var again = await Client(alpha, "shop", "main").PostAsJsonAsync("v1/services/web/scale", new ScaleBody(2), ApiJson.Options);
        Assert.Contains("instances: quota 3, 2 in use, this change needs 2", await Text(again), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.NoContent, (await Client(alpha, "shop", "main").PostAsJsonAsync("v1/services/web/scale", new ScaleBody(1), ApiJson.Options)).StatusCode);
    }
}
