using System.Security.Cryptography;
using System.Text;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Flotilla.Runtime.Kubernetes;

/// <summary>
/// Runs instances on a Kubernetes cluster (a kubeconfig context): Kubernetes schedules, places and
/// replaces pods; Flotilla asks for a count per revision (one ReplicaSet per revision, its replicas the
/// number of instances the controllers keep of it), follows the pods by list + watch (<see cref="PodWatch"/>),
/// binds instances to pods (<see cref="PodBindings"/>: a replaced pod is the same instance at a new
/// address) and probes each pod's IP itself: an instance is ready when the kubelet calls its pod Ready
/// and Flotilla's router can reach it. To stop an instance the router has drained, its pod gets the
/// lowest pod-deletion-cost, then the ReplicaSet is scaled down. Nothing is journaled: a restarted
/// control plane lists the ReplicaSets and pods labelled with its owner and carries on with them.
/// An API server that does not answer is a warning; the pods run on and are still probed, and the
/// driver retries with back-off.
/// </summary>
public sealed partial class KubernetesDriver : IRuntime
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan ReadyProbeInterval = TimeSpan.FromMilliseconds(500);
    private static readonly TimeSpan ReconcileEvery = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);
    private const int FailuresToUnready = 2;

    private readonly object _gate = new();
    private readonly KubernetesTarget _target;
    private readonly TimeProvider _time;
    private readonly Action<string, string, bool> _record;
    private readonly string _logsDirectory;
    private readonly int _containerPort;
    private readonly TimeSpan _relistEvery;
    private readonly Func<Secrets.SecretRef, string>? _secrets;
    private readonly Prober _prober = new();
    private readonly WakeSignal _poke = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _firstSync = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<string, InstanceLaunch> _launches = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Probe> _probes = new(StringComparer.Ordinal);
    private readonly Dictionary<string, string> _lastPods = new(StringComparer.Ordinal);
    private readonly HashSet<string> _uncostable = new(StringComparer.Ordinal);
    private readonly HashSet<string> _secretRefused = new(StringComparer.Ordinal);
    private List<PodBinding> _bindings = [];
    private IReadOnlyDictionary<string, ObservedPod> _pods = new Dictionary<string, ObservedPod>();
    private IReadOnlyDictionary<string, string?> _readyPaths = new Dictionary<string, string?>();
    private IKubernetes? _client;
    private PodWatch? _watch;
    private PodLogs? _logs;
    private readonly Dictionary<string, string> _podLogPaths = new(StringComparer.Ordinal);
    private string? _unreachable;
    private object[]? _lastSeen;
    private Task? _loop;
    private int _dirty = 1;
    private DateTimeOffset _nextReconcile = DateTimeOffset.MinValue;
    private TimeSpan _backoff = TimeSpan.FromMilliseconds(500);

    /// <param name="containerPort">The port instances listen on in their pods (PORT says so), where Flotilla probes and routes to them.</param>
    /// <param name="relistEvery">The longest a watch is followed before the pods are listed again (a silent watch is caught by this).</param>
    /// <param name="secrets">Resolves a secret's value (the secret store); null: instances with secrets cannot run here.</param>
    public KubernetesDriver(string stateDirectory, KubernetesTarget target, TimeProvider? time = null, WakeSignal? changed = null,
        Action<string, string, bool>? record = null, int containerPort = 8080, TimeSpan? relistEvery = null, Func<Secrets.SecretRef, string>? secrets = null)
    {
        _secrets = secrets;
        Changed = changed ?? new WakeSignal();
        _target = target;
        _time = time ?? TimeProvider.System;
        _record = record ?? ((_, _, _) => { });
        _logsDirectory = Path.Combine(stateDirectory, "logs");
        _containerPort = containerPort;
        _relistEvery = relistEvery ?? TimeSpan.FromMinutes(5);
        Owner = OwnerId(stateDirectory);
    }

    /// <summary>
    /// A random id kept in the state directory (made on first use): a cluster is shared by control planes
    /// on many machines, and a hash of the directory's path (the same /var/lib/flotilla on each) would let
    /// one adopt and scale down another's pods.
    /// </summary>
    private static string OwnerId(string stateDirectory)
    {
        var file = Path.Combine(stateDirectory, "kubernetes-owner");
        if (File.Exists(file) && File.ReadAllText(file).Trim() is { Length: 12 } kept)
        {
            return kept;
        }
        Directory.CreateDirectory(stateDirectory);
        var made = Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(6));
        var temporary = $"{file}.{Environment.ProcessId}.tmp";
        File.WriteAllText(temporary, made);
        File.Move(temporary, file, overwrite: true);
        return made;
    }

    /// <summary>The label value (<c>flotilla.io/owner</c>) that marks this control plane's ReplicaSets and pods.</summary>
    public string Owner { get; }

    /// <summary>The namespace the ReplicaSets go to, once connected.</summary>
    public string? Namespace { get; private set; }

    public WakeSignal Changed { get; }

    public string? LimitsUnavailable => null;

    /// <summary>Why the API server cannot be reached now, or null.</summary>
    public string? Unreachable => Volatile.Read(ref _unreachable);

    /// <summary>Whether the API server refuses to watch pods (403: the role lacks the 'watch' verb); the pods are listed instead.</summary>
    public bool WatchRefused { get; private set; }

    /// <summary>How many times the pods were listed (the first time, and after each watch that ended or was cut).</summary>
    public int PodLists => _watch?.Lists ?? 0;

    /// <summary>Connects and reads what runs there; completes after the first full look, so nothing is started twice.</summary>
    public async Task AttachAsync(CancellationToken cancellationToken)
    {
        Connect();
        EnsureLoop();
        await _firstSync.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Checks that the context resolves and the API server answers for the namespace; throws <see cref="KubernetesApplyException"/> saying what is missing.</summary>
    public async Task PrepareAsync(string? image, CancellationToken cancellationToken)
    {
        if (image is null)
        {
            throw new KubernetesApplyException("on Kubernetes every service runs an image from a registry: give the service 'image: REGISTRY/NAME:TAG'");
        }
        var client = Connect();
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(TimeSpan.FromSeconds(15));
        try
        {
            await new ReplicaSetApi(client, Namespace!, Owner).ListAsync(bounded.Token);
        }
        catch (Exception e) when (e is HttpRequestException or HttpOperationException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new KubernetesApplyException($"the Kubernetes API server of {_target} ({client.BaseUri}) {Why(e)}; check that the cluster is up and that its user may list, create, patch and delete replicasets and list, watch and patch pods and get pods/log in namespace {Namespace}", e);
        }
        await AttachAsync(cancellationToken);
    }

    private IKubernetes Connect()
    {
        lock (_gate)
        {
            if (_client is { } client)
            {
                return client;
            }
            var configuration = KubeconfigContexts.Resolve(_target.Kubeconfig, _target.Context);
            Namespace = _target.Namespace ?? configuration.Namespace ?? "default";
            _client = new k8s.Kubernetes(configuration, new PodLogSinceTime());
            _watch = new PodWatch(() => _client, Namespace, ReplicaSets.Selector(Owner), _relistEvery, () =>
            {
                Interlocked.Exchange(ref _dirty, 1);
                _poke.Set();
            }, e =>
            {
                if (e is null)
                {
                    Reachable();
                }
                else
                {
                    NotReachable(e);
                }
            }, refused =>
            {
                WatchRefused = refused;
                _record("kubernetes", refused
                    ? $"the Kubernetes user of {_target} may list but not watch pods in namespace {Namespace} (the watch answered 403 Forbidden): grant the RBAC verb 'watch' on 'pods' in namespace {Namespace}; until then Flotilla lists the pods instead, less and less often (up to every 30 s), so it sees changes made by others late"
                    : $"pods in namespace {Namespace} are watched again", refused);
            });
            _logs = new PodLogs(() => _client, Namespace, LogPathOfPod, _time);
            return _client;
        }
    }

    /// <summary>What the loop does now (diagnostics in tests).</summary>
    internal string Stage { get; private set; } = "";

    /// <summary>The pod an instance is bound to now, or null (for tests and diagnostics).</summary>
    internal string? BoundPod(string instanceId)
    {
        lock (_gate)
        {
            return _bindings.Find(b => b.InstanceId == instanceId && !b.Gone)?.Pod;
        }
    }

    /// <summary>The instance a pod holds, or null.</summary>
    internal string? BoundInstance(string pod)
    {
        lock (_gate)
        {
            return _bindings.Find(b => b.Pod == pod && !b.Gone)?.InstanceId;
        }
    }

    public IReadOnlyList<InstanceStatus> Observe()
    {
        lock (_gate)
        {
            return _bindings.Select(StatusOf).ToList();
        }
    }

    public void Start(InstanceLaunch launch)
    {
        lock (_gate)
        {
            if (launch.Secrets is { Count: > 0 } secrets && _secrets is null)
            {
                _bindings.Add(new PodBinding(launch.Id, launch.Service, launch.Revision, null, true, _time.GetUtcNow(),
                    $"secrets ({string.Join(", ", secrets.Select(s => s.Variable))}) cannot be passed to its pods: this control plane's Kubernetes driver has no secret store") { Gone = true });
                Changed.Set();
                return;
            }
            _launches[ReplicaSets.Name(Owner, launch.Service, launch.Revision)] = launch;
            _bindings.Add(new PodBinding(launch.Id, launch.Service, launch.Revision, null, false, _time.GetUtcNow()));
        }
        WriteLogNote(launch);
        Interlocked.Exchange(ref _dirty, 1);
        EnsureLoop();
        _poke.Set();
        Changed.Set();
    }

    public async Task StopAsync(string instanceId, TimeSpan grace, string reason)
    {
        lock (_gate)
        {
            var index = _bindings.FindIndex(b => b.InstanceId == instanceId);
            if (index < 0 || _bindings[index].Gone)
            {
                return;
            }
            _bindings[index] = _bindings[index] with { Leaving = true, StopReason = reason };
        }
        Interlocked.Exchange(ref _dirty, 1);
        _poke.Set();
        Changed.Set();
        var deadline = _time.GetUtcNow() + TimeSpan.FromSeconds(ReplicaSets.StopDelaySeconds) + grace + TimeSpan.FromSeconds(15);
        while (_time.GetUtcNow() < deadline)
        {
            lock (_gate)
            {
                if (_bindings.Find(b => b.InstanceId == instanceId) is not { Gone: false })
                {
                    return;
                }
            }
            await Task.Delay(TimeSpan.FromMilliseconds(100), _time);
        }
        lock (_gate)
        {
            var index = _bindings.FindIndex(b => b.InstanceId == instanceId);
            if (index >= 0)
            {
                _bindings[index] = _bindings[index] with { Gone = true, StopReason = $"{reason}; Kubernetes had not removed its pod in time (the API server may be away: the ReplicaSet is scaled down when it answers)" };
            }
        }
        Changed.Set();
    }

    public void Forget(string instanceId)
    {
        lock (_gate)
        {
            if (_bindings.RemoveAll(b => b.InstanceId == instanceId && b.Gone) > 0)
            {
                _probes.Remove(instanceId);
                _lastPods.Remove(instanceId);
            }
        }
    }

    /// <summary>Nothing to adopt from a journal: the cluster itself is the record (see <see cref="AttachAsync"/>).</summary>
    public Task<bool> AdoptAsync(InstanceLaunch launch, int pid, long? processStartTime, DateTimeOffset startedAt) => Task.FromResult(false);

    /// <summary>Pods found in the cluster are adopted, not strays: the controllers stop those no revision wants.</summary>
    public Task<IReadOnlyList<string>> StopStraysAsync(TimeSpan grace) => Task.FromResult<IReadOnlyList<string>>([]);

    /// <summary>ReplicaSets run on without the control plane: there is nothing else to leave running.</summary>
    public void LeaveRunningOnDispose()
    {
    }

    private void EnsureLoop()
    {
        lock (_gate)
        {
            _loop ??= Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);
        }
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        var lastProbe = DateTimeOffset.MinValue;
        var reconcileNotBefore = DateTimeOffset.MinValue;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                Connect();
                _watch!.Start();
                if (_watch.Synced)
                {
                    Rebind();
                    FollowLogs();
                    var now = _time.GetUtcNow();
                    if ((Volatile.Read(ref _dirty) == 1 || now >= _nextReconcile) && now >= reconcileNotBefore)
                    {
                        Interlocked.Exchange(ref _dirty, 0);
                        // Bounded: an API server that accepts a request and never answers must not hold the probes up.
                        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                        bounded.CancelAfter(TimeSpan.FromSeconds(10));
                        Stage = "reconcile";
                        await ReconcileAsync(bounded.Token);
                        _nextReconcile = _time.GetUtcNow() + ReconcileEvery;
                        _backoff = TimeSpan.FromMilliseconds(500);
                        _firstSync.TrySetResult();
                    }
                }
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                NotReachable(e);
                Interlocked.Exchange(ref _dirty, 1);
                reconcileNotBefore = _time.GetUtcNow() + _backoff;
                _backoff = TimeSpan.FromTicks(Math.Min(MaxBackoff.Ticks, _backoff.Ticks * 2));
            }
            var probeReady = _time.GetUtcNow() - lastProbe >= ReadyProbeInterval;
            if (probeReady)
            {
                lastProbe = _time.GetUtcNow();
            }
            Stage = "probe";
            await ProbeAsync(probeReady, cancellationToken);
            Stage = "wait";
            SignalIfChanged();
            try
            {
                await _poke.WaitAsync(Interval, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Bindings follow the pods as the watch last saw them; an event when an instance's pod was replaced.</summary>
    private void Rebind()
    {
        var pods = _watch!.Pods;
        lock (_gate)
        {
            _pods = pods.ToDictionary(p => p.Name, StringComparer.Ordinal);
            _bindings = PodBindings.Rebind(_bindings, pods, _time.GetUtcNow()).ToList();
            foreach (var binding in _bindings.Where(b => !b.Gone && b.Pod is not null))
            {
                if (_lastPods.TryGetValue(binding.InstanceId, out var last) && last != binding.Pod)
                {
                    _record(binding.InstanceId, $"Kubernetes replaced its pod {last} with {binding.Pod}{(_pods.GetValueOrDefault(binding.Pod!)?.Node is { } node ? $" on node {node}" : "")}", !binding.Leaving);
                    _probes.Remove(binding.InstanceId);
                }
                _lastPods[binding.InstanceId] = binding.Pod!;
            }
        }
    }

    /// <summary>
    /// One look at this control plane's ReplicaSets, and what makes them match the bindings: new
    /// revisions applied, counts set (a scale-down only once the drained pods carry the lowest deletion
    /// cost in what the watch shows, so the ReplicaSet controller has seen it too, and no serving pod
    /// carries it any more), emptied ones deleted.
    /// </summary>
    private async Task ReconcileAsync(CancellationToken cancellationToken)
    {
        var api = new ReplicaSetApi(_client!, Namespace!, Owner);
        var listed = await api.ListAsync(cancellationToken);
        ReplicaSetPlan plan;
        lock (_gate)
        {
            _readyPaths = listed.ToDictionary(r => r.Name, r => r.ReadyPath, StringComparer.Ordinal);
            plan = ReplicaSetPlan.Plan(Owner, _bindings, listed, _pods, _launches, _uncostable);
        }
        if (plan.Deferred && !WatchRefused)
        {
            // Scaled down on a later pass, once the watch shows the marks (without a watch: once a list does,
            // which marks it dirty itself; passes in between would only send the same marks again).
            Interlocked.Exchange(ref _dirty, 1);
        }
        var (scales, marks, creations, deletions) = (plan.Scales, plan.Marks, plan.Creations, plan.Deletions);
        foreach (var pod in marks)
        {
            try
            {
                await new ReplicaSetApi(_client!, Namespace!, Owner).MarkDrainedAsync(pod, cancellationToken);
            }
            catch (HttpOperationException e)
            {
                lock (_gate)
                {
                    _uncostable.Add(pod);
                }
                _record("kubernetes", $"cannot mark pod {pod} as the one to remove ({Why(e)}): the ReplicaSet chooses which pod goes, and the instance Flotilla drained takes that pod's place", true);
            }
        }
        foreach (var pod in plan.Unmarks)
        {
            try
            {
                await api.UnmarkAsync(pod, cancellationToken);
                _record("kubernetes", $"took the drained mark off pod {pod}: it serves instance {BoundInstance(pod)}, and a scale-down must not remove it", false);
            }
            catch (HttpOperationException e)
            {
                lock (_gate)
                {
                    _uncostable.Add(pod);
                }
                _record("kubernetes", $"cannot take the drained mark ({ReplicaSets.DeletionCostAnnotation}) off pod {pod}, which serves ({Why(e)}): the next scale-down of its ReplicaSet may remove it undrained; remove the annotation by hand (kubectl annotate pod {pod} {ReplicaSets.DeletionCostAnnotation}- -n {Namespace}) and let the user patch pods", true);
            }
        }
        foreach (var (name, replicas) in scales)
        {
            await api.ScaleAsync(name, replicas, cancellationToken);
        }
        await DeleteAbandonedSecretsAsync(api, listed, cancellationToken);
        await SweepSecretsAsync(api, listed, cancellationToken);
        await CreateAsync(api, creations, cancellationToken);
        foreach (var set in deletions)
        {
            await api.DeleteAsync(set.Name, cancellationToken);
            if (set.HasSecret)
            {
                await api.DeleteSecretAsync(set.Name, cancellationToken);
            }
            _record(set.Service, $"deleted ReplicaSet {Namespace}/{set.Name} (no instance of revision {set.Revision} is wanted)", false);
        }
        if (marks.Count + plan.Unmarks.Count + scales.Count + creations.Count + deletions.Count > 0)
        {
            _watch!.Refresh();
        }
        Reachable();
    }

    private async Task ProbeAsync(bool probeReady, CancellationToken cancellationToken)
    {
        List<(string Id, string Host, string? Path)> targets;
        lock (_gate)
        {
            targets = _bindings.Where(b => !b.Gone && !b.Leaving && b.Pod is not null)
                .Select(b => (Binding: b, Pod: _pods.GetValueOrDefault(b.Pod!)))
                .Where(x => x.Pod is { Running: true, Live: true, Ip: not null })
                .Where(x => probeReady || !_probes.TryGetValue(x.Binding.InstanceId, out var p) || p.ReadySince is null)
                .Select(x => (x.Binding.InstanceId, x.Pod!.Ip!, _readyPaths.GetValueOrDefault(ReplicaSets.Name(Owner, x.Binding.Service, x.Binding.Revision))))
                .ToList();
        }
        var results = await Task.WhenAll(targets.Select(async t => (t.Id, Ok: await _prober.ProbeAsync(t.Host, _containerPort, t.Path, cancellationToken))));
        lock (_gate)
        {
            foreach (var (id, ok) in results)
            {
                var probe = _probes.GetValueOrDefault(id) ?? new Probe();
                _probes[id] = ok
                    ? probe with { ReadySince = probe.ReadySince ?? _time.GetUtcNow(), WasReady = true, Failures = 0 }
                    : probe.Failures + 1 >= FailuresToUnready ? probe with { ReadySince = null, Failures = probe.Failures + 1 } : probe with { Failures = probe.Failures + 1 };
            }
        }
    }

    /// <summary>Ready: the kubelet calls the pod Ready (its readiness probe, inside the cluster) and Flotilla's own probe reaches it (the router must).</summary>
    private InstanceStatus StatusOf(PodBinding binding)
    {
        var pod = binding.Pod is { } name ? _pods.GetValueOrDefault(name) : null;
        var probe = _probes.GetValueOrDefault(binding.InstanceId) ?? new Probe();
        var ready = probe.ReadySince is not null && pod is { Ready: true, Live: true };
        var state = binding.Gone ? InstanceState.Exited
            : binding.Leaving ? InstanceState.Stopping
            : pod is not { Running: true, Live: true } ? InstanceState.Starting
            : ready ? InstanceState.Ready
            : probe.WasReady ? InstanceState.Unready : InstanceState.Starting;
        var reason = binding.Gone || binding.Leaving ? binding.StopReason ?? "the ReplicaSet removed its pod"
            : pod is null ? "waiting for Kubernetes to make its pod"
            : ready ? null
            : pod.Problem ?? (pod.Running ? pod.Ready ? $"pod {pod.Name} does not answer Flotilla's probe at {pod.Ip}:{_containerPort}" : $"pod {pod.Name} is not Ready" : $"pod {pod.Name} is {pod.Phase}");
        return new InstanceStatus(binding.InstanceId, binding.Service, binding.Revision, 0, null, _containerPort, state, binding.StartedAt,
            state == InstanceState.Ready ? probe.ReadySince : null, probe.WasReady, binding.Leaving, binding.Gone ? pod?.ExitCode ?? 0 : null, reason,
            LogPath(binding.Service, binding.InstanceId), null, pod?.Ip ?? "127.0.0.1") { Node = pod?.Node };
    }

    private void SignalIfChanged()
    {
        object[] seen = [.. Observe(), Unreachable ?? ""];
        if (_lastSeen is null || !seen.SequenceEqual(_lastSeen))
        {
            _lastSeen = seen;
            Changed.Set();
        }
    }

    private void Reachable()
    {
        if (Interlocked.Exchange(ref _unreachable, null) is { } was)
        {
            _record("kubernetes", $"the Kubernetes API server of {_target} answers again (it was unreachable: {was})", false);
            _poke.Set();
        }
    }

    private void NotReachable(Exception e)
    {
        var why = e is KubernetesApplyException ? e.Message : $"the API server {Why(e)}";
        if (Interlocked.Exchange(ref _unreachable, why) is null)
        {
            _record("kubernetes", $"cannot reach Kubernetes ({_target}): {why}; pods keep running, the router keeps its routes, and it is retried with back-off", true);
        }
    }

    private static string Why(Exception e) => e switch
    {
        HttpOperationException http => $"answered {(int)http.Response.StatusCode} {http.Response.StatusCode}",
        OperationCanceledException => "did not answer in time",
        _ => $"cannot be reached ({e.Message})",
    };

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await _stopping.CancelAsync();
        if (_loop is { } loop)
        {
            try
            {
                await loop;
            }
            catch (OperationCanceledException)
            {
            }
        }
        if (_watch is { } watch)
        {
            await watch.DisposeAsync();
        }
        if (_logs is { } logs)
        {
            await logs.DisposeAsync();
        }
        _prober.Dispose();
        _client?.Dispose();
    }

    private int _disposed;

    private sealed record Probe(DateTimeOffset? ReadySince = null, bool WasReady = false, int Failures = 0);
}
