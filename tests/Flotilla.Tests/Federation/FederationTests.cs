using System.Net;
using System.Net.Http.Json;
using Flotilla.Api;
using Flotilla.Conditions;
using Flotilla.Federation;
using Flotilla.Hosting;
using Flotilla.Model;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Federation;

/// <summary>
/// One system over several clusters with real processes (and a real Docker Engine where one runs):
/// an ordered release whose canary cluster fails stops there, an unreachable cluster is marked and
/// retried while the others go on, and bad input is refused before anything changes.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class FederationTests : IDisposable
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(90);
    private readonly TempDirectory _dir = new("flotilla-fed");

    private static readonly FederationOptions Fast = FastFederation.Options;

    private Task<Flotilla.Federation.Federation> StartAsync() =>
        Flotilla.Federation.Federation.StartAsync(Path.Combine(_dir.Path, "fed"), new ControlPlaneOptions(Path.Combine(_dir.Path, "data")), Fast);

    private static string Spec(string command, string clusters, string release = "", int instances = 1) => $$"""
        name: fed
        services:
          web:
            command: {{command}}
            instances: {{instances}}
            http: { ready: / }
            timeouts: { start: 10s, stop: 2s }
            rollout: { progressDeadline: 3s }
        {{release}}
        clusters:
        {{clusters}}
        """;

    private const string Serves = """[python3, -m, http.server, "${PORT}"]""";
    private const string ServesV2 = """[python3, -m, http.server, "${PORT}", --bind, 127.0.0.1]""";
    private const string Crashes = """[python3, -c, "import sys; sys.exit(3)"]""";
    private const string TwoLocal = "  - { name: canary, kind: local }\n  - { name: main, kind: local }";

    /// <summary>Waits as <see cref="Eventually.Until(Func{bool}, TimeSpan, string)"/> does; on a timeout, says what every cluster was doing and what happened.</summary>
    private static async Task UntilAsync(Flotilla.Federation.Federation federation, Func<bool> condition, string what)
    {
        try
        {
            await Eventually.Until(condition, Long, what);
        }
        catch (TimeoutException e)
        {
            var clusters = federation.Status().Clusters.Select(c => $"{c.Name}: revision {c.Revision}, {c.Health}, reachable {c.Reachable}, {c.Next}: {c.Reason}; "
                + string.Join("; ", c.Conditions.Select(x => $"{x.Type} {x.Reason} {x.Message}")) + $"; services {string.Join(", ", c.Services.Select(s => $"{s.Name} {s.Ready}/{s.Desired} {s.Revision}"))}");
            var events = federation.Clusters.SelectMany(c => federation.Plane(c)!.Events.Since(0).Select(x => $"[{c}] {x.At:HH:mm:ss.fff} {x.Subject}: {x.Message}"));
            throw new TimeoutException($"{e.Message}\n{string.Join("\n", clusters)}\n{string.Join("\n", events.TakeLast(60))}", e);
        }
    }

    private ApplyRequest Request(string yaml) => new(yaml, _dir.Write("flotilla.yaml", yaml), null, null, "test");

    [Fact]
    public async Task OrderedRelease_GoesToTheNextCluster_OnlyOnceTheCanaryRunsReady_AndAFailedCanaryStopsTheRest()
    {
        await using var federation = await StartAsync();
        try
        {
            await federation.ApplyAsync(Request(Spec(Serves, TwoLocal, "release: { clusters: ordered }")));
            await UntilAsync(federation, () => federation.Status().AllHealthy, "both clusters to run revision 1 ready");
            var events = federation.Events.Since(0);
            var canaryReady = events.First(e => e.Message == "cluster 'canary' runs revision 1 ready").Sequence;
            var mainGot = events.First(e => e.Message.StartsWith("cluster 'main' got revision 1", StringComparison.Ordinal)).Sequence;
            Assert.True(canaryReady < mainGot, "the second cluster got revision 1 before the canary ran it ready");
            var mainRevision = federation.Plane("main")!.State.Find("web")!.Revision;
            var mainPlaneRevisions = federation.Plane("main")!.Store.LatestRevisionNumber;

            // Revision 2 cannot start: the canary's rolling update rolls back at its deadline, and the release stops there.
            await federation.ApplyAsync(Request(Spec(Crashes, TwoLocal, "release: { clusters: ordered }")));
            await UntilAsync(federation, () => federation.Status().Clusters[1].Next == "halted", "the main cluster to be halted");
            var status = federation.Status();
            var canary = status.Clusters[0];
            Assert.Equal(("failed", 2L), (canary.Health, canary.Revision));
            Assert.Contains(canary.Conditions, c => c.Type == ConditionType.Degraded && c.Reason == "ReleaseFailed" && c.Message.Contains("rolled back", StringComparison.Ordinal));
            var main = status.Clusters[1];
            Assert.Equal((1L, "healthy"), (main.Revision, main.Health));
            Assert.Contains("cluster 'canary' failed revision 2 (the canary)", main.Reason, StringComparison.Ordinal);
            Assert.Contains(main.Conditions, c => c.Type == ConditionType.Degraded && c.Reason == "ReleaseHalted");
            // The main cluster never saw revision 2 and still serves revision 1, ready; the canary serves revision 1 again.
            Assert.Equal(mainPlaneRevisions, federation.Plane("main")!.Store.LatestRevisionNumber);
            Assert.Equal(mainRevision, federation.Plane("main")!.State.Find("web")!.Revision);
            Assert.True(federation.Plane("main")!.Status().AllReady);
            await Eventually.Until(() => federation.Plane("canary")!.Status().Services.Single().Ready == 1, Long, "the canary to serve the old revision again");

            // A fixed revision 3 goes through again, canary first.
            await federation.ApplyAsync(Request(Spec(ServesV2, TwoLocal, "release: { clusters: ordered }")));
            await UntilAsync(federation, () => federation.Status() is { Revision: 3, AllHealthy: true }, "both clusters to run revision 3 ready");
        }
        finally
        {
            await federation.StopDataPlanesAsync();
        }
    }

    [DockerFact]
    public async Task AnUnreachableCluster_IsMarkedAndRetried_WithoutBlockingTheOthers_AndConvergesWhenBack()
    {
        // The Docker cluster's engine is a socket path that does not exist yet; later it becomes a link to the real engine.
        var socket = Path.Combine(_dir.Path, "engine.sock");
        var clusters = $"  - {{ name: here, kind: local }}\n  - {{ name: box, kind: docker, endpoint: 'unix://{socket}' }}";
        await using var federation = await StartAsync();
        try
        {
            await federation.ApplyAsync(Request(Spec(Serves, clusters)));
            await UntilAsync(federation, () => federation.Status().Clusters is [{ Health: "healthy" }, { Reachable: false }], "'here' to run ready while 'box' is marked unreachable");
            var box = federation.Status().Clusters[1];
            Assert.Contains(box.Conditions, c => c.Type == ConditionType.Unreachable && c.Message.Contains($"no socket at {socket}", StringComparison.Ordinal));
            Assert.Equal(0, box.Revision);
            await Eventually.Until(() => federation.Status().Clusters[1].Conditions.Any(c => c.Type == ConditionType.Unreachable && !c.Message.Contains("(1 try", StringComparison.Ordinal)),
                Long, "'box' to be tried again");
            Assert.Contains(federation.Events.Since(0), e => e.Warning && e.Message.StartsWith($"cluster 'box' cannot be reached: the Docker Engine is not running: no socket at {socket}", StringComparison.Ordinal));
            Assert.Contains(federation.Plane("box")!.Events.Since(0), e => e.Subject == "federation" && e.Message.Contains("cannot be reached", StringComparison.Ordinal));

            File.CreateSymbolicLink(socket, "/var/run/docker.sock");
            await UntilAsync(federation, () => federation.Status().AllHealthy, "'box' to answer and run revision 1 ready");
            Assert.Equal("docker", Assert.Single(federation.Plane("box")!.State.Services).RuntimeName);
            Assert.Contains(federation.Events.Since(0), e => e.Message.StartsWith("cluster 'box' answers again", StringComparison.Ordinal));
        }
        finally
        {
            await federation.StopDataPlanesAsync();
        }
    }

    [Fact]
    public async Task BadInput_IsRefused_BeforeAnythingChanges_AndTheApiShowsEveryCluster()
    {
        await using var planes = await ControlPlanes.StartAsync(new ControlPlaneOptions(Path.Combine(_dir.Path, "data")));
        await using var federations = await Federations.StartAsync(new ControlPlaneOptions(Path.Combine(_dir.Path, "data")), Fast);
        await using var api = await ApiServer.StartAsync(planes, new IPEndPoint(IPAddress.Loopback, 0), default, federations);
        using var http = new HttpClient { BaseAddress = new Uri(api.Url + "/"), Timeout = TimeSpan.FromSeconds(60) };
        http.DefaultRequestHeaders.Authorization = new("Bearer", planes.Root.Store.CreateToken("admin", Flotilla.Tenancy.TenantRoles.Operator, "test", DateTimeOffset.UtcNow));
        var file = _dir.Write("flotilla.yaml", "");
        Task<HttpResponseMessage> Apply(string yaml) => http.PostAsJsonAsync("v1/apply", new ApplyBody(yaml, file, null, null, null), ApiJson.Options);

        // A Kubernetes cluster whose context the kubeconfig does not have, and which would run a service without an image: both refused at once.
        var kubeconfig = _dir.Write("kubeconfig", "apiVersion: v1\nkind: Config\nclusters: [{ name: c, cluster: { server: 'http://127.0.0.1:1' } }]\nusers: [{ name: u, user: {} }]\n"
            + "contexts: [{ name: prod-us, context: { cluster: c, user: u } }, { name: staging, context: { cluster: c, user: u } }]\n");
        var refused = await Apply(Spec(Serves, $"  - {{ name: here, kind: local }}\n  - {{ name: eu, kind: kubernetes, context: prod-eu, kubeconfig: '{kubeconfig}', services: {{ web: {{ instances: 1 }} }} }}", instances: 0));
        Assert.Equal(HttpStatusCode.UnprocessableEntity, refused.StatusCode);
        var refusal = await TextAsync(refused);
        Assert.Contains($"{file}:12:44: clusters.eu.context: cluster 'eu': context 'prod-eu' is not in kubeconfig {kubeconfig}; it has: prod-us, staging", refusal, StringComparison.Ordinal);
        Assert.Contains($"{file}:4:5: services.web.image: service 'web' has no image", refusal, StringComparison.Ordinal);
        Assert.Null(federations.Find(null));
        Assert.False(Directory.Exists(Path.Combine(_dir.Path, "data", "federations", "_base", "clusters")));

        var two = "  - { name: here, kind: local }\n  - { name: also, kind: local, instances: 0 }";
        Assert.Equal(HttpStatusCode.Created, (await Apply(Spec(Serves, two, instances: 0))).StatusCode);
        await Eventually.Until(() => federations.Find(null)!.Status().AllHealthy, Long, "both clusters to run revision 1");
        var status = await http.GetFromJsonAsync<FederationStatus>("v1/clusters", ApiJson.Options);
        Assert.Equal(["here", "also"], status!.Clusters.Select(c => c.Name));
        Assert.All(status.Clusters, c => Assert.Equal((1L, true, "healthy"), (c.Revision, c.Reachable, c.Health)));

        // A cluster keeps its target; a spec without clusters cannot replace a federated environment: both refused, nothing changed.
        var moved = await Apply(Spec(Serves, "  - { name: here, kind: docker }\n  - { name: also, kind: local }", instances: 0));
        Assert.Equal(HttpStatusCode.BadRequest, moved.StatusCode);
        Assert.Contains("cluster 'here' was local at this machine and would be docker", await TextAsync(moved), StringComparison.Ordinal);
        var plain = await Apply("name: fed\nservices:\n  web: { command: [x], instances: 0 }\n");
        Assert.Equal(HttpStatusCode.Conflict, plain.StatusCode);
        Assert.Equal(1, federations.Find(null)!.Desired!.Number);

        // Every other verb answers for one cluster, named with X-Flotilla-Cluster.
        var unnamed = await http.GetAsync("v1/status");
        Assert.Equal(HttpStatusCode.NotFound, unnamed.StatusCode);
        Assert.Contains("runs over clusters (here, also): name one with --cluster", await TextAsync(unnamed), StringComparison.Ordinal);
        using var one = new HttpRequestMessage(HttpMethod.Get, "v1/status") { Headers = { { Federations.ClusterHeader, "also" } } };
        var named = await http.SendAsync(one);
        Assert.Equal(HttpStatusCode.OK, named.StatusCode);
        Assert.Contains("\"web\"", await named.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        await federations.StopDataPlanesAsync();
    }

    /// <summary>An answer's JSON as text, without JSON's escapes of quotes (problem details quote names).</summary>
    private static async Task<string> TextAsync(HttpResponseMessage response) =>
        System.Text.Json.Nodes.JsonNode.Parse(await response.Content.ReadAsStringAsync())!
            .ToJsonString(new System.Text.Json.JsonSerializerOptions { Encoder = System.Text.Encodings.Web.JavaScriptEncoder.UnsafeRelaxedJsonEscaping });

    public void Dispose() => _dir.Dispose();
}
