using Flotilla.Conditions;
using Flotilla.Federation;
using Flotilla.Hosting;
using Flotilla.Runtime.Kubernetes;
using Flotilla.Tests.Kubernetes;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Federation;

/// <summary>
/// A Kubernetes context as a federation cluster, through the real control planes and KubernetesClient over
/// real HTTP, against <see cref="FakeApiServer"/> (no API server can run here): a local cluster and a
/// kubernetes one converge; with the API server gone, a revision reaches the local cluster while the
/// kubernetes one is marked Unreachable with the client's cause and retried; back on the same port, it
/// converges on that revision (its ReplicaSet appears in the API server).
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class KubernetesClusterTests : IAsyncLifetime
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(90);
    private readonly TempDirectory _dir = new("flotilla-fed-k8s");
    private FakeApiServer _api = null!;
    private PodListener _pods = null!;

    private static readonly FederationOptions Fast = FastFederation.Options;

    public async Task InitializeAsync()
    {
        _api = await FakeApiServer.StartAsync();
        _pods = await PodListener.StartAsync();
    }

    public async Task DisposeAsync()
    {
        await _api.DisposeAsync();
        await _pods.DisposeAsync();
        _dir.Dispose();
    }

    /// <summary>'web' runs as local processes on 'here' only; 'api' (an image) in the kubernetes cluster 'eu' only.</summary>
    private string Spec(string version) => $$"""
        name: fed
        services:
          web:
            command: [python3, -m, http.server, "${PORT}"]
            env: { VERSION: "{{version}}" }
            http: { ready: / }
            timeouts: { start: 10s, stop: 2s }
          api:
            image: registry.example/api:1
            env: { VERSION: "{{version}}" }
            http: { ready: /ready }
            timeouts: { stop: 2s }
            rollout: { minReady: 300ms, progressDeadline: 60s }
        clusters:
          - { name: here, kind: local, services: { api: { instances: 0 } } }
          - name: eu
            kind: kubernetes
            context: fake-eu
            namespace: shop
            kubeconfig: kubeconfig
            services: { web: { instances: 0 } }
        """;

    private ApplyRequest Request(string yaml) => new(yaml, _dir.Write("flotilla.yaml", yaml), null, null, "test");

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

    [Fact]
    public async Task AKubernetesCluster_ConvergesBesideALocalOne_IsMarkedAndRetriedWhileItsApiServerIsAway_AndCatchesUp()
    {
        _dir.Write("kubeconfig", _api.Kubeconfig("fake-eu", "shop"));
        var template = new ControlPlaneOptions(Path.Combine(_dir.Path, "data")) { Kubernetes = new KubernetesTarget { ContainerPort = _pods.Port } };
        var federation = await Flotilla.Federation.Federation.StartAsync(Path.Combine(_dir.Path, "fed"), template, Fast);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
        try
        {
            await federation.ApplyAsync(Request(Spec("1")));
            await UntilAsync(federation, () => federation.Status() is { Revision: 1, AllHealthy: true }, "both clusters to run revision 1 ready");
            var eu = federation.Plane("eu")!;
            Assert.Equal(1, eu.Status().Services.Single(s => s.Name == "api").Ready);
            Assert.Equal("context fake-eu, namespace shop of " + Path.Combine(_dir.Path, "kubeconfig"), federation.Status().Clusters[1].Endpoint);
            // eu's router serves api from the "pod" (the test's listener), through the Kubernetes driver's binding.
            var served = _pods.Served;
            Assert.Equal(PodListener.Answer, await http.GetStringAsync($"http://127.0.0.1:{eu.Endpoints["api"]}/"));
            Assert.True(_pods.Served > served);
            // Its own owner id, kept in its own data directory, labels its ReplicaSet.
            var owner = (await File.ReadAllTextAsync(Path.Combine(eu.DataDirectory, "kubernetes-owner"))).Trim();
            var first = ReplicaSets.Name(owner, "api", eu.State.Find("api")!.Revision);
            Assert.Equal(1, _api.ReplicaSet(first)!.Spec.Replicas);
            Assert.Contains(_api.Requests, r => r.Method == "GET" && r.Path.TrimEnd('/') == "/version");
            // web (no image) is held at 0 there; scaling it up would ask Kubernetes for a pod without an image: refused, nothing changed.
            var refused = await Assert.ThrowsAsync<ControlPlaneException>(() => eu.ScaleAsync("web", 1, "test"));
            Assert.Contains("service 'web' has no image, and this cluster runs on kubernetes, which runs images only", refused.Message, StringComparison.Ordinal);
            Assert.Empty(eu.Store.ServiceOverrides());

            // The API server goes away (the pods run on); revision 2 reaches the local cluster, the kubernetes one is marked and retried.
            await _api.DownAsync();
            await federation.ApplyAsync(Request(Spec("2")));
            await UntilAsync(federation, () => federation.Status().Clusters is [{ Revision: 2, Health: "healthy", Reachable: true }, { Reachable: false }],
                "'here' to run revision 2 ready while 'eu' is marked unreachable");
            var unreachable = Assert.Single(federation.Status().Clusters[1].Conditions, c => c.Type == ConditionType.Unreachable);
            Assert.Contains("Connection refused", unreachable.Message, StringComparison.Ordinal);
            Assert.Contains("fake-eu", unreachable.Message, StringComparison.Ordinal);
            Assert.Equal(1, federation.Status().Clusters[1].Revision);
            await Eventually.Until(() => federation.Status().Clusters[1].Conditions.Any(c => c.Type == ConditionType.Unreachable && !c.Message.Contains("(1 try", StringComparison.Ordinal)),
                Long, "'eu' to be tried again");
            Assert.Contains(federation.Events.Since(0), e => e.Warning && e.Subject == "eu" && e.Message.StartsWith("cluster 'eu' cannot be reached", StringComparison.Ordinal));
            Assert.Equal("2", federation.Plane("here")!.State.Find("web")!.Env["VERSION"]);
            // What eu runs keeps serving through its router meanwhile.
            Assert.Equal(PodListener.Answer, await http.GetStringAsync($"http://127.0.0.1:{eu.Endpoints["api"]}/"));

            // Back on the same port: eu converges on revision 2, a ReplicaSet of its own for it.
            await _api.UpAsync();
            await UntilAsync(federation, () => federation.Status() is { Revision: 2, AllHealthy: true }, "'eu' to answer and run revision 2 ready");
            Assert.Contains(federation.Events.Since(0), e => e.Message.StartsWith("cluster 'eu' answers again", StringComparison.Ordinal));
            var second = ReplicaSets.Name(owner, "api", eu.State.Find("api")!.Revision);
            Assert.NotEqual(first, second);
            Assert.Equal(1, _api.ReplicaSet(second)?.Spec.Replicas);
            Assert.Contains("VERSION", _api.ReplicaSet(second)!.Spec.Template.Spec.Containers[0].Env.Where(e => e.Value == "2").Select(e => e.Name));
            await Eventually.Until(() => _api.ReplicaSet(first) is null, Long, "revision 1's ReplicaSet to be deleted once revision 2 serves");
            Assert.Equal(PodListener.Answer, await http.GetStringAsync($"http://127.0.0.1:{eu.Endpoints["api"]}/"));

            // A restarted server: eu's control plane finds its ReplicaSet and pods by its owner label and carries on, creating nothing.
            await federation.DisposeAsync();
            var applies = _api.Requests.Count(r => r.ContentType?.StartsWith("application/apply-patch+yaml", StringComparison.Ordinal) == true);
            federation = await Flotilla.Federation.Federation.StartAsync(Path.Combine(_dir.Path, "fed"), template, Fast);
            await UntilAsync(federation, () => federation.Status() is { Revision: 2, AllHealthy: true }, "both clusters to run revision 2 ready after the restart");
            Assert.Equal(PodListener.Answer, await http.GetStringAsync($"http://127.0.0.1:{federation.Plane("eu")!.Endpoints["api"]}/"));
            Assert.Equal(applies, _api.Requests.Count(r => r.ContentType?.StartsWith("application/apply-patch+yaml", StringComparison.Ordinal) == true));
            Assert.Equal(1, _api.Pods().Count(p => p.Metadata.DeletionTimestamp is null));
        }
        finally
        {
            await federation.StopDataPlanesAsync();
            await federation.DisposeAsync();
        }
    }
}
