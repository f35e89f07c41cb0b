using Flotilla.Model;
using Flotilla.Runtime;
using Flotilla.Runtime.Kubernetes;
using Flotilla.Secrets;
using Flotilla.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Flotilla.Tests.Kubernetes;

/// <summary>
/// The Kubernetes driver for real through KubernetesClient, against <see cref="FakeApiServer"/> (no
/// API server can run here): ReplicaSets created by server-side apply and scaled, the drained pod the
/// one removed, a pod replaced is the same instance, a silent or ended watch caught up by a relist,
/// an API server away is a warning and changes nothing until it is back, and a restarted driver
/// carries on with what runs. Pods answer the driver's probes at 127.0.0.1 through a test listener.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed partial class KubernetesDriverTests : IAsyncLifetime
{
    private static readonly TimeSpan Long = TimeSpan.FromSeconds(30);
    private readonly TempDirectory _dir = new();
    private readonly List<(string Subject, string Message, bool Warning)> _events = [];
    private FakeApiServer _api = null!;
    private WebApplication _pods = null!;
    private int _podPort;
    private volatile bool _answering = true;

    public async Task InitializeAsync()
    {
        _api = await FakeApiServer.StartAsync();
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        _pods = builder.Build();
        _pods.Run(context =>
        {
            context.Response.StatusCode = _answering ? 200 : 503;
            return Task.CompletedTask;
        });
        await _pods.StartAsync();
        _podPort = new Uri(_pods.Urls.Single()).Port;
    }

    public async Task DisposeAsync()
    {
        // Drivers a test disposes by hand (to restart one) too: an assertion that fails before that must not leave one running.
        foreach (var driver in _drivers)
        {
            await driver.DisposeAsync();
        }
        await _api.DisposeAsync();
        await _pods.StopAsync();
        await _pods.DisposeAsync();
        _dir.Dispose();
    }

    private KubernetesDriver Driver(TimeSpan? relistEvery = null, string state = "state", Func<SecretRef, string>? secrets = null)
    {
        var kubeconfig = _dir.Write("kubeconfig", _api.Kubeconfig("fake", "shop"));
        var driver = new KubernetesDriver(Path.Combine(_dir.Path, state), new KubernetesTarget("fake", kubeconfig), null, null, (s, m, w) =>
        {
            lock (_events)
            {
                _events.Add((s, m, w));
            }
        }, _podPort, relistEvery, secrets);
        _drivers.Add(driver);
        return driver;
    }

    private readonly List<KubernetesDriver> _drivers = [];

    private static InstanceLaunch Launch(string id, string revision = "r1") =>
        new(id, "web", revision, ["serve", "--port", "${PORT}"], new Dictionary<string, string> { ["MODE"] = "fast" }, 0, new HttpSpec(null, "/healthz", "/ready"),
            TimeSpan.FromSeconds(30), new ResourcesSpec(0.25, 64 << 20), Runtime: RuntimeKind.Kubernetes, Image: "registry.example/web:1");

    private async Task AllReady(KubernetesDriver driver, int count, string what)
    {
        try
        {
            await Eventually.Until(() => driver.Observe().Count(i => i.State == InstanceState.Ready) == count && driver.Observe().Count(i => i.IsLive) == count, Long, what);
        }
        catch (TimeoutException e)
        {
            var seen = string.Join("; ", driver.Observe().Select(i => $"{i.Id} {i.State} pod {driver.BoundPod(i.Id)} ({i.Reason})"));
            var pods = string.Join("; ", _api.Pods().Select(p => $"{p.Metadata.Name}{(p.Metadata.DeletionTimestamp is null ? "" : " terminating")}"));
            throw new TimeoutException($"{e.Message}: the driver sees {seen}; the API server has {pods}; unreachable: {driver.Unreachable}; stage {driver.Stage}; last requests: {string.Join(" | ", _api.Requests.TakeLast(8).Select(r => $"{r.Method} {r.Path}{r.Query}"))}; events: {Events()}", e);
        }
    }

    private string Events()
    {
        lock (_events)
        {
            return string.Join(" | ", _events.TakeLast(10).Select(e => $"{e.Subject}: {e.Message}"));
        }
    }

    /// <summary>Waits for an event: events are recorded a moment after the state they report, so an assertion on one waits.</summary>
    private Task UntilRecorded(string fragment, bool warning) =>
        Eventually.Until(() => Recorded(fragment, warning), Long, $"the event '{fragment}'");

    private bool Recorded(string fragment, bool? warning = null)
    {
        lock (_events)
        {
            return _events.Any(e => e.Message.Contains(fragment, StringComparison.Ordinal) && (warning is null || e.Warning == warning));
        }
    }

    /// <summary>Which pod each instance is bound to, read from the driver's events and the pods that live.</summary>
    private string PodOf(KubernetesDriver driver, string id)
    {
        var status = driver.Observe().Single(i => i.Id == id);
        return Assert.Single(_api.Pods(), p => p.Metadata.DeletionTimestamp is null && Bound(driver, p.Metadata.Name) == status.Id).Metadata.Name;
    }

    private static string? Bound(KubernetesDriver driver, string pod) => driver.BoundInstance(pod);

    [Fact]
    public async Task Instances_AreAReplicaSet_ServerSideApplied_ScaledUpAndDown_AndTheDrainedPodIsTheOneRemoved()
    {
        await using var driver = Driver();
        driver.Start(Launch("web-1"));
        await AllReady(driver, 1, "the first instance to be ready");
        driver.Start(Launch("web-2"));
        driver.Start(Launch("web-3"));
        await AllReady(driver, 3, "three instances to be ready");
        var name = ReplicaSets.Name(driver.Owner, "web", "r1");
        Assert.Equal(3, _api.ReplicaSet(name)!.Spec.Replicas);

        // The contract: created by server-side apply as 'flotilla', forced; the count then set by merge patches.
        var writes = _api.Requests.Where(r => r.Path == $"/apis/apps/v1/namespaces/shop/replicasets/{name}").ToList();
        var apply = writes[0];
        Assert.Equal("PATCH", apply.Method);
        Assert.StartsWith("application/apply-patch+yaml", apply.ContentType, StringComparison.Ordinal);
        Assert.Contains("fieldManager=flotilla", apply.Query, StringComparison.Ordinal);
        Assert.Contains("force=true", apply.Query, StringComparison.Ordinal);
        var body = System.Text.Json.Nodes.JsonNode.Parse(apply.Body)!;
        Assert.Equal(("apps/v1", "ReplicaSet"), ((string?)body["apiVersion"], (string?)body["kind"]));
        Assert.Equal(driver.Owner, (string?)body["spec"]!["selector"]!["matchLabels"]!["flotilla.io/owner"]);
        var container = body["spec"]!["template"]!["spec"]!["containers"]![0]!;
        Assert.Equal(("registry.example/web:1", "serve --port " + _podPort), ((string?)container["image"], string.Join(' ', container["command"]!.AsArray().Select(a => (string?)a))));
        Assert.Equal("/ready", (string?)container["readinessProbe"]!["httpGet"]!["path"]);
        Assert.Equal(2, (int)container["lifecycle"]!["preStop"]!["sleep"]!["seconds"]!);
        Assert.All(writes.Skip(1), w =>
        {
            Assert.StartsWith("application/merge-patch+json", w.ContentType, StringComparison.Ordinal);
            Assert.Contains("fieldManager=flotilla", w.Query, StringComparison.Ordinal);
        });

        // The oldest pod would go first without a cost (the ReplicaSet removes the newest): web-1's is drained and goes.
        var drained = PodOf(driver, "web-1");
        var kept = new[] { PodOf(driver, "web-2"), PodOf(driver, "web-3") };
        var before = _api.Requests.Count;
        await driver.StopAsync("web-1", TimeSpan.FromSeconds(5), "scaled down").WaitAsync(Long);
        Assert.Equal(InstanceState.Exited, driver.Observe().Single(i => i.Id == "web-1").State);
        Assert.Equal(2, _api.ReplicaSet(name)!.Spec.Replicas);
        Assert.DoesNotContain(_api.Pods(), p => p.Metadata.Name == drained);
        Assert.Equal(kept.Order(), _api.Pods().Select(p => p.Metadata.Name).Order());
        Assert.Equal(kept, new[] { PodOf(driver, "web-2"), PodOf(driver, "web-3") });
        var after = _api.Requests.Skip(before).ToList();
        var mark = after.FindIndex(r => r.Method == "PATCH" && r.Path == $"/api/v1/namespaces/shop/pods/{drained}");
        var scale = after.FindIndex(r => r.Method == "PATCH" && r.Path.EndsWith(name, StringComparison.Ordinal));
        Assert.True(mark >= 0 && scale > mark, $"the drained pod is marked (request {mark}) before the scale-down (request {scale})");
        Assert.Contains("\"controller.kubernetes.io/pod-deletion-cost\":\"-2147483648\"", after[mark].Body, StringComparison.Ordinal);
        Assert.Contains("\"replicas\":2", after[scale].Body, StringComparison.Ordinal);

        // Down to none: scaled to zero, then the emptied ReplicaSet is deleted.
        await Task.WhenAll(driver.StopAsync("web-2", TimeSpan.FromSeconds(5), "gone"), driver.StopAsync("web-3", TimeSpan.FromSeconds(5), "gone")).WaitAsync(Long);
        await Eventually.Until(() => _api.ReplicaSet(name) is null, Long, "the emptied ReplicaSet to be deleted");
        Assert.Contains(_api.Requests, r => r.Method == "DELETE" && r.Path == $"/apis/apps/v1/namespaces/shop/replicasets/{name}");
    }

    [Fact]
    public async Task APodDeleted_IsReplacedByTheReplicaSet_AndItsInstanceIsTheSame()
    {
        await using var driver = Driver();
        driver.Start(Launch("web-1"));
        driver.Start(Launch("web-2"));
        await AllReady(driver, 2, "two instances to be ready");
        var old = PodOf(driver, "web-1");
        var other = PodOf(driver, "web-2");

        _api.DeletePod(old);

        await Eventually.Until(() => Recorded($"Kubernetes replaced its pod {old} with"), Long, "web-1's pod to be replaced");
        await AllReady(driver, 2, "both instances ready again");
        Assert.Equal(["web-1", "web-2"], driver.Observe().Select(i => i.Id).Order());
        Assert.NotEqual(old, PodOf(driver, "web-1"));
        Assert.Equal(other, PodOf(driver, "web-2"));
        Assert.Equal(2, _api.ReplicaSet(ReplicaSets.Name(driver.Owner, "web", "r1"))!.Spec.Replicas);
    }

    [Fact]
    public async Task ASilentWatch_IsCaughtUpByThePeriodicRelist()
    {
        await using var driver = Driver(relistEvery: TimeSpan.FromSeconds(3));
        driver.Start(Launch("web-1"));
        await AllReady(driver, 1, "the instance to be ready");
        var old = PodOf(driver, "web-1");
        var lists = driver.PodLists;

        _api.StallWatches(true);
        _api.DeletePod(old);
        await Task.Delay(1000);
        // Nothing shows the replacement but a relist (one every 3 s here may already have come: then it is the one that brought it).
        Assert.True(driver.BoundPod("web-1") == old || driver.PodLists > lists, "the replacement was seen through a silent watch");

        await Eventually.Until(() => driver.BoundPod("web-1") is { } now && now != old && _api.Pods().Any(p => p.Metadata.Name == now), Long, "the relist to show the replacement");
        Assert.True(driver.PodLists > lists, "a relist brought it");
        _api.StallWatches(false);
        await AllReady(driver, 1, "the instance ready on its new pod");
    }

    [Fact]
    public async Task AWatchThatEnds_IsFollowedByARelistAtOnce()
    {
        await using var driver = Driver(relistEvery: TimeSpan.FromMinutes(5));
        driver.Start(Launch("web-1"));
        await AllReady(driver, 1, "the instance to be ready");
        var lists = driver.PodLists;

        _api.EndWatches();

        await Eventually.Until(() => driver.PodLists > lists, TimeSpan.FromSeconds(10), "a relist after the watch ended");
        var old = PodOf(driver, "web-1");
        _api.DeletePod(old);
        await Eventually.Until(() => driver.BoundPod("web-1") is { } now && now != old, Long, "the new watch to bring the replacement");
    }

    [Fact]
    public async Task AnApiServerAway_IsAWarning_PodsServeOn_AndItCarriesOnWhenBack()
    {
        await using var driver = Driver();
        driver.Start(Launch("web-1"));
        driver.Start(Launch("web-2"));
        await AllReady(driver, 2, "two instances to be ready");
        var name = ReplicaSets.Name(driver.Owner, "web", "r1");

        await _api.DownAsync();
        await Eventually.Until(() => driver.Unreachable is not null, Long, "the driver to see the API server gone");
        await UntilRecorded("cannot reach Kubernetes (context fake)", warning: true);
        driver.Start(Launch("web-3"));
        await Task.Delay(2000);
        Assert.Equal(2, driver.Observe().Count(i => i.State == InstanceState.Ready));
        Assert.Equal(InstanceState.Starting, driver.Observe().Single(i => i.Id == "web-3").State);
        Assert.Equal(2, _api.ReplicaSet(name)!.Spec.Replicas);

        await _api.UpAsync();
        await Eventually.Until(() => driver.Unreachable is null, TimeSpan.FromSeconds(60), "the driver to reach the API server again (back-off up to 30 s)");
        await UntilRecorded("answers again", warning: false);
        await AllReady(driver, 3, "the instance started while away to run once it is back");
        Assert.Equal(3, _api.ReplicaSet(name)!.Spec.Replicas);
    }

    [Fact]
    public async Task ARestartedDriver_FindsWhatRuns_AndChangesNothing()
    {
        var first = Driver();
        first.Start(Launch("web-1"));
        first.Start(Launch("web-2"));
        await AllReady(first, 2, "two instances to be ready");
        var pods = _api.Pods().Select(p => p.Metadata.Name).Order().ToList();
        await first.DisposeAsync();
        var before = _api.Requests.Count;

        await using var second = Driver();
        await second.AttachAsync(CancellationToken.None).WaitAsync(Long);
        await AllReady(second, 2, "both pods adopted and ready");
        Assert.Equal(pods, _api.Pods().Select(p => p.Metadata.Name).Order());
        Assert.DoesNotContain(_api.Requests.Skip(before), r => r.Method is "PATCH" or "DELETE");
        Assert.All(second.Observe(), i => Assert.StartsWith("web-r1-", i.Id, StringComparison.Ordinal));
    }

    [Fact]
    public async Task AnUnreadyPod_IsNotReady_EvenWhenItAnswersFlotillasProbe()
    {
        await using var driver = Driver();
        driver.Start(Launch("web-1"));
        await AllReady(driver, 1, "the instance to be ready");
        _api.SetReady(PodOf(driver, "web-1"), false);
        await Eventually.Until(() => driver.Observe().Single().State == InstanceState.Unready, Long, "the kubelet's verdict to be followed");
        Assert.Contains("is not Ready", driver.Observe().Single().Reason, StringComparison.Ordinal);
        _answering = false;
        _api.SetReady(PodOf(driver, "web-1"), true);
        await Task.Delay(1500);
        Assert.Equal(InstanceState.Unready, driver.Observe().Single().State);
        _answering = true;
        await AllReady(driver, 1, "ready once both agree");
    }

    private IReadOnlyList<string> MarkedPods() =>
        _api.Pods().Where(p => p.Metadata.DeletionTimestamp is null && p.Metadata.Annotations?.ContainsKey(ReplicaSets.DeletionCostAnnotation) == true).Select(p => p.Metadata.Name).ToList();

    [Fact]
    public async Task ARestartedDriver_TakesTheDrainedMarkOffAServingPod_AndTheNextScaleDownRemovesTheDrainedOne()
    {
        var first = Driver();
        first.Start(Launch("web-1"));
        first.Start(Launch("web-2"));
        first.Start(Launch("web-3"));
        await AllReady(first, 3, "three instances to be ready");
        var name = ReplicaSets.Name(first.Owner, "web", "r1");
        // The newest pod was marked by a control plane that went away before it scaled down: the ReplicaSet would remove it first.
        var pods = _api.Pods().OrderBy(p => p.Metadata.CreationTimestamp).Select(p => p.Metadata.Name).ToList();
        _api.AnnotatePod(pods[2], ReplicaSets.DeletionCostAnnotation, ReplicaSets.DrainedCost);
        await first.DisposeAsync();
        var before = _api.Requests.Count;

        await using var second = Driver();
        await second.AttachAsync(CancellationToken.None).WaitAsync(Long);
        await AllReady(second, 3, "the three pods adopted and ready");
        var drained = second.BoundInstance(pods[0])!;
        await second.StopAsync(drained, TimeSpan.FromSeconds(5), "scaled down").WaitAsync(Long);

        Assert.Equal(InstanceState.Exited, second.Observe().Single(i => i.Id == drained).State);
        Assert.Equal(2, _api.ReplicaSet(name)!.Spec.Replicas);
        await Eventually.Until(() => _api.Pods().All(p => p.Metadata.Name != pods[0]), Long, "the drained pod to be gone");
        Assert.Equal(pods.Skip(1).Order(), _api.Pods().Select(p => p.Metadata.Name).Order());
        Assert.Empty(MarkedPods());
        var after = _api.Requests.Skip(before).ToList();
        var unmark = after.FindIndex(r => r.Method == "PATCH" && r.Path == $"/api/v1/namespaces/shop/pods/{pods[2]}");
        var scale = after.FindIndex(r => r.Method == "PATCH" && r.Path.EndsWith(name, StringComparison.Ordinal));
        Assert.True(unmark >= 0 && scale > unmark, $"the serving pod is unmarked (request {unmark}) before the scale-down (request {scale})");
        Assert.Contains("\"controller.kubernetes.io/pod-deletion-cost\":null", after[unmark].Body, StringComparison.Ordinal);
        await UntilRecorded($"took the drained mark off pod {pods[2]}", warning: false);
    }

    [Fact]
    public async Task AfterABindingSwap_TheServingInstanceKeepsTheDrainedPod_WithoutItsMark()
    {
        await using var driver = Driver();
        driver.Start(Launch("web-1"));
        driver.Start(Launch("web-2"));
        driver.Start(Launch("web-3"));
        await AllReady(driver, 3, "three instances to be ready");
        var drainedPod = PodOf(driver, "web-1");
        var unready = PodOf(driver, "web-2");
        // The ReplicaSet removes an unready pod before any cost: web-2's goes, and web-2 takes web-1's drained (marked) pod.
        _api.SetReady(unready, false);
        await Eventually.Until(() => driver.Observe().Single(i => i.Id == "web-2").State != InstanceState.Ready, Long, "web-2 to be seen unready");

        await driver.StopAsync("web-1", TimeSpan.FromSeconds(5), "scaled down").WaitAsync(Long);

        await Eventually.Until(() => _api.Pods().All(p => p.Metadata.Name != unready), Long, "the unready pod to be removed");
        Assert.Equal(drainedPod, driver.BoundPod("web-2"));
        await Eventually.Until(() => MarkedPods().Count == 0, Long, "the mark to be taken off the pod web-2 now serves from");
        await AllReady(driver, 2, "web-2 and web-3 ready");
    }

    [Fact]
    public async Task AWatchRefused_IsSaidOnce_BacksOff_AndTheDriverServesFromLists()
    {
        _api.RefuseWatches(true);
        // Watches that work are cut every 3 s here, so the one that works again ends (and says so) soon.
        await using var driver = Driver(relistEvery: TimeSpan.FromSeconds(3));
        driver.Start(Launch("web-1"));
        driver.Start(Launch("web-2"));
        await AllReady(driver, 2, "the instances to be ready from lists alone");
        await Eventually.Until(() => driver.WatchRefused, Long, "the refused watch to be seen");

        // Without back-off the driver lists twice a second (about 12 in 6 s); with it (0.5, 1, 2, 4 s...) a few,
        // beside the periodic relist (every 3 s here).
        var lists = PodListRequests();
        await Task.Delay(TimeSpan.FromSeconds(6));
        var during = PodListRequests() - lists;
        Assert.True(during <= 6, $"{during} LISTs of pods in 6 s with watches refused");
        Assert.Single(Warnings("may list but not watch pods in namespace shop"));
        Assert.Contains("grant the RBAC verb 'watch' on 'pods' in namespace shop", Warnings("may list but not watch").Single(), StringComparison.Ordinal);
        Assert.Null(driver.Unreachable);
        Assert.All(driver.Observe(), i => Assert.Equal(InstanceState.Ready, i.State));

        // A stop still ends in time, the drained pod the one removed: after each change Flotilla makes, the next list comes soon; the mark is not sent again and again.
        // (Without that, the pause before the next list has grown to 8-30 s here, and the stop takes 20 s or more.)
        var drained = PodOf(driver, "web-1");
        await driver.StopAsync("web-1", TimeSpan.FromSeconds(5), "scaled down").WaitAsync(TimeSpan.FromSeconds(15));
        var stopped = driver.Observe().Single(i => i.Id == "web-1");
        Assert.Equal((InstanceState.Exited, "scaled down"), (stopped.State, stopped.Reason));
        Assert.DoesNotContain(_api.Pods(), p => p.Metadata.Name == drained);
        var marks = _api.Requests.Count(r => r.Method == "PATCH" && r.Path == $"/api/v1/namespaces/shop/pods/{drained}");
        Assert.True(marks <= 2, $"the drained pod was marked {marks} times");

        // Allowed again: watched again, said once.
        _api.RefuseWatches(false);
        await Eventually.Until(() => !driver.WatchRefused, TimeSpan.FromSeconds(45), "the watch to work again (after the back-off)");
        await UntilRecorded("pods in namespace shop are watched again", warning: false);
    }

    private int PodListRequests() => _api.Requests.Count(r => r.Method == "GET" && r.Path == "/api/v1/namespaces/shop/pods" && !r.Query.Contains("watch=true", StringComparison.Ordinal));

    private IReadOnlyList<string> Warnings(string fragment)
    {
        lock (_events)
        {
            return _events.Where(e => e.Warning && e.Message.Contains(fragment, StringComparison.Ordinal)).Select(e => e.Message).ToList();
        }
    }

    [Fact]
    public async Task Secrets_AreOneSecretPerRevision_ReferredToByThePods_NeverInTheReplicaSet_AndGoWithIt()
    {
        var values = new Dictionary<string, string> { ["DB_PASSWORD"] = "s3cr3t-value-1", ["TLS_KEY"] = "-----BEGIN KEY----- s3cr3t-value-2" };
        await using var driver = Driver(secrets: s => values[s.Variable]);
        var launch = Launch("web-1") with
        {
            Secrets = [new SecretRef("DB_PASSWORD", SecretRef.FromStore, "db", false, "f1"), new SecretRef("TLS_KEY", SecretRef.FromStore, "tls", true, "f2")],
        };
        driver.Start(launch);
        await AllReady(driver, 1, "the instance with secrets to be ready");
        var name = ReplicaSets.Name(driver.Owner, "web", "r1");

        // The Secret: server-side applied as 'flotilla' before the ReplicaSet, labelled as it, holding the values.
        var secret = _api.Secret(name)!;
        Assert.Equal(driver.Owner, secret.Metadata.Labels["flotilla.io/owner"]);
        Assert.Equal(("s3cr3t-value-1", "-----BEGIN KEY----- s3cr3t-value-2"), (System.Text.Encoding.UTF8.GetString(secret.Data["DB_PASSWORD"]), System.Text.Encoding.UTF8.GetString(secret.Data["TLS_KEY"])));
        var requests = _api.Requests.ToList();
        var applied = requests.FindIndex(r => r.Method == "PATCH" && r.Path == $"/api/v1/namespaces/shop/secrets/{name}");
        var created = requests.FindIndex(r => r.Method == "PATCH" && r.Path == $"/apis/apps/v1/namespaces/shop/replicasets/{name}");
        Assert.True(applied >= 0 && created > applied, $"the Secret (request {applied}) is applied before the ReplicaSet (request {created})");
        Assert.StartsWith("application/apply-patch+yaml", requests[applied].ContentType, StringComparison.Ordinal);
        Assert.Contains("fieldManager=flotilla", requests[applied].Query, StringComparison.Ordinal);
        Assert.Contains("force=true", requests[applied].Query, StringComparison.Ordinal);
        // Then owned by the ReplicaSet, so the garbage collector removes it with it whatever happens to this control plane.
        var owner = Assert.Single(secret.Metadata.OwnerReferences);
        Assert.Equal(("ReplicaSet", name, _api.ReplicaSet(name)!.Metadata.Uid), (owner.Kind, owner.Name, owner.Uid));

        // The pods refer to it: the variable by secretKeyRef, the file in a read-only volume; no value in the ReplicaSet or the events.
        var pod = _api.ReplicaSet(name)!.Spec.Template.Spec;
        var container = pod.Containers.Single();
        Assert.Equal((name, "DB_PASSWORD"), (container.Env.Single(e => e.Name == "DB_PASSWORD").ValueFrom.SecretKeyRef.Name, container.Env.Single(e => e.Name == "DB_PASSWORD").ValueFrom.SecretKeyRef.Key));
        Assert.Equal("/run/secrets/flotilla/TLS_KEY", container.Env.Single(e => e.Name == "TLS_KEY").Value);
        var mount = container.VolumeMounts.Single();
        Assert.Equal(("/run/secrets/flotilla", true), (mount.MountPath, mount.ReadOnlyProperty == true));
        var volume = pod.Volumes.Single(v => v.Name == mount.Name).Secret;
        Assert.Equal((name, 256), (volume.SecretName, volume.DefaultMode ?? 0));
        Assert.Equal(["TLS_KEY"], volume.Items.Select(i => i.Key));
        Assert.DoesNotContain("s3cr3t", requests[created].Body, StringComparison.Ordinal);
        Assert.True(Recorded($"applied Secret shop/{name}"));
        lock (_events)
        {
            Assert.DoesNotContain(_events, e => e.Message.Contains("s3cr3t", StringComparison.Ordinal));
        }
        Assert.DoesNotContain("s3cr3t", LogOf(driver, "web-1"), StringComparison.Ordinal);

        // Emptied: the ReplicaSet is deleted, and its Secret with it.
        await driver.StopAsync("web-1", TimeSpan.FromSeconds(5), "gone").WaitAsync(Long);
        // The fake's garbage collector may take the owned Secret before the driver's own DELETE of it comes (right after the ReplicaSet's).
        await Eventually.Until(() => _api.ReplicaSet(name) is null && _api.Secret(name) is null
            && _api.Requests.Any(r => r.Method == "DELETE" && r.Path == $"/api/v1/namespaces/shop/secrets/{name}"), Long, "the ReplicaSet and its Secret to be deleted, the Secret by the driver too");
    }

    [Fact]
    public async Task ASecretThatCannotBeRead_EndsItsInstance_NamingTheSecret_AndNoPodIsMade()
    {
        await using var driver = Driver(secrets: s => throw new InvalidOperationException($"secret '{s.Name}' is not in the store"));
        driver.Start(Launch("web-1") with { Secrets = [new SecretRef("DB_PASSWORD", SecretRef.FromStore, "db", false, "f1")] });
        await Eventually.Until(() => driver.Observe().Single().State == InstanceState.Exited, Long, "the instance to end");
        Assert.Contains("secret DB_PASSWORD (secret store 'db') cannot be read: secret 'db' is not in the store", driver.Observe().Single().Reason, StringComparison.Ordinal);
        Assert.Null(_api.ReplicaSet(ReplicaSets.Name(driver.Owner, "web", "r1")));
    }
}
