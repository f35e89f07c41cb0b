using Flotilla.Hosting;
using Flotilla.Runtime;
using Flotilla.Runtime.Kubernetes;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Kubernetes;

/// <summary>
/// <c>runtime: kubernetes</c> through the real control plane (controllers, rollout, Flotilla's router) and
/// KubernetesClient over real HTTP, against <see cref="FakeApiServer"/> (no API server can run here; the
/// "pods" answer through <see cref="PodListener"/>): applied, ready, served through the router, and a
/// rolling update after which the old revision's ReplicaSet is scaled to 0 and deleted.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class KubernetesControlPlaneTests : IAsyncLifetime
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(90);
    private readonly TempDirectory _dir = new("flotilla-k8s-plane");
    private FakeApiServer _api = null!;
    private PodListener _pods = null!;
    private ControlPlane? _plane;

    public async Task InitializeAsync()
    {
        _api = await FakeApiServer.StartAsync();
        _pods = await PodListener.StartAsync();
    }

    public async Task DisposeAsync()
    {
        if (_plane is not null)
        {
            await _plane.StopDataPlaneAsync();
            await _plane.DisposeAsync();
        }
        await _api.DisposeAsync();
        await _pods.DisposeAsync();
        _dir.Dispose();
    }

    private static string Spec(string version) => $$"""
        name: shop
        runtime: kubernetes
        services:
          api:
            image: registry.example/api:{{version}}
            instances: 2
            env: { VERSION: "{{version}}" }
            http: { ready: /ready }
            timeouts: { stop: 2s }
            rollout: { maxSurge: 1, maxUnavailable: 0, minReady: 300ms, progressDeadline: 60s }
        """;

    private async Task<ApplyResult> ApplyAsync(string yaml) =>
        await _plane!.ApplyAsync(new ApplyRequest(yaml, _dir.Write("flotilla.yaml", yaml), null, null, "test"));

    private async Task UntilAsync(Func<bool> condition, string what)
    {
        try
        {
            await Eventually.Until(condition, Long, what);
        }
        catch (TimeoutException e)
        {
            var instances = _plane!.Status().Services.SelectMany(s => s.Instances).Select(i => $"{i.Id} {i.Revision} {i.State} ({i.Reason})");
            var events = _plane.Events.Since(0).TakeLast(30).Select(x => $"{x.At:HH:mm:ss.fff} {x.Subject}: {x.Message}");
            var sets = _api.Requests.Where(r => r.Path.Contains("/replicasets/", StringComparison.Ordinal)).TakeLast(10).Select(r => $"{r.Method} {r.Path} {r.Body[..Math.Min(80, r.Body.Length)]}");
            throw new TimeoutException($"{e.Message}\n{string.Join("\n", instances)}\n{string.Join("\n", events)}\n{string.Join("\n", sets)}", e);
        }
    }

    [Fact]
    public async Task AKubernetesEnvironment_IsAppliedServedThroughTheRouter_AndRolledToRevision2_TheOldReplicaSetScaledToZeroAndDeleted()
    {
        var kubeconfig = _dir.Write("kubeconfig", _api.Kubeconfig("fake", "shop"));
        _plane = await ControlPlane.StartAsync(new ControlPlaneOptions(Path.Combine(_dir.Path, "data"))
        {
            Kubernetes = new KubernetesTarget("fake", kubeconfig, "shop") { ContainerPort = _pods.Port },
        });
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };

        await ApplyAsync(Spec("1"));
        await UntilAsync(() => _plane.Status() is { AllReady: true } status && status.Services.Single().Ready == 2, "two instances of revision 1 to be ready");
        var owner = (await File.ReadAllTextAsync(Path.Combine(_plane.DataDirectory, "kubernetes-owner"))).Trim();
        var first = ReplicaSets.Name(owner, "api", _plane.State.Find("api")!.Revision);
        Assert.Equal(2, _api.ReplicaSet(first)!.Spec.Replicas);
        Assert.Equal(2, _api.Pods().Count);
        var served = _pods.Served;
        Assert.Equal(PodListener.Answer, await http.GetStringAsync($"http://127.0.0.1:{_plane.Endpoints["api"]}/"));
        Assert.True(_pods.Served > served, "the router sent the request to the pod");

        // A rolling update: revision 2's ReplicaSet grows as revision 1's shrinks; the router serves throughout.
        var before = _api.Requests.Count;
        await ApplyAsync(Spec("2"));
        var second = ReplicaSets.Name(owner, "api", _plane.State.Find("api")!.Revision);
        Assert.NotEqual(first, second);
        var failures = 0;
        var answered = 0;
        while (!(_plane.Status() is { AllReady: true } status && status.Services.Single() is { Ready: 2 } api && api.Instances.All(i => i.Revision == _plane.State.Find("api")!.Revision) && _api.ReplicaSet(first) is null))
        {
            try
            {
                Assert.Equal(PodListener.Answer, await http.GetStringAsync($"http://127.0.0.1:{_plane.Endpoints["api"]}/"));
                answered++;
            }
            catch (HttpRequestException)
            {
                failures++;
            }
            if (answered + failures > 2000)
            {
                await UntilAsync(() => false, "revision 2 to be ready and revision 1's ReplicaSet deleted");
            }
            await Task.Delay(50);
        }
        Assert.Equal(0, failures);
        Assert.Equal(2, _api.ReplicaSet(second)!.Spec.Replicas);
        Assert.Equal("registry.example/api:2", _api.ReplicaSet(second)!.Spec.Template.Spec.Containers[0].Image);

        // What the API server saw of revision 1's ReplicaSet: scaled down to 0 by merge patches, then deleted.
        var old = _api.Requests.Skip(before).Where(r => r.Path == $"/apis/apps/v1/namespaces/shop/replicasets/{first}").ToList();
        var scales = old.Where(r => r.Method == "PATCH").Select(r => (int)System.Text.Json.Nodes.JsonNode.Parse(r.Body)!["spec"]!["replicas"]!).ToList();
        // One old instance at a time (maxUnavailable 0): 2 -> 1 -> 0.
        Assert.Equal([1, 0], scales.Distinct());
        Assert.Equal("DELETE", old[^1].Method);
        Assert.Equal(2, _api.Pods().Count(p => p.Metadata.DeletionTimestamp is null));
        Assert.All(_api.Pods(), p => Assert.Equal(second, p.Metadata.OwnerReferences.Single().Name));
    }
}
