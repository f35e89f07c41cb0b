using System.Security.Cryptography;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;
using Flotilla.Runtime.Docker;

namespace Flotilla.Runtime.Swarm;

/// <summary>
/// Runs instances on a Docker Swarm: the engine schedules, places and restarts; Flotilla asks for
/// a count per revision (one Swarm service per revision, its replicas the number of instances the
/// controllers keep of it) and observes where each task runs, probing it there for readiness so the
/// router sends traffic only to tasks that answer. Instances are bound to Swarm's slots
/// (<see cref="SlotBindings"/>), so a task Swarm replaces (it died, or its node was lost) is the same
/// instance at a new address. Nothing is journaled: after a restart the control plane re-reads the
/// services and tasks, labelled with its owner, and carries on with them.
/// </summary>
public sealed class SwarmDriver : IRuntime
{
    private static readonly TimeSpan Interval = TimeSpan.FromMilliseconds(250);
    private static readonly TimeSpan ReadyProbeInterval = TimeSpan.FromMilliseconds(500);
    private const int FailuresToUnready = 2;

    private readonly object _gate = new();
    private readonly string? _endpoint;
    private readonly TimeProvider _time;
    private readonly Func<Secrets.SecretRef, string>? _secrets;
    private readonly Action<string, string, bool> _record;
    private readonly string _logsDirectory;
    private readonly SwarmLogs _logs;
    private readonly Prober _prober = new();
    private readonly WakeSignal _poke = new();
    private readonly CancellationTokenSource _stopping = new();
    private readonly TaskCompletionSource _firstSync = new(TaskCreationOptions.RunContinuationsAsynchronously);
    private readonly Dictionary<string, InstanceLaunch> _launches = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Probe> _probes = new(StringComparer.Ordinal);
    private List<SlotBinding> _bindings = [];
    private IReadOnlyList<SwarmTask> _tasks = [];
    private IReadOnlyDictionary<string, NodeStatus> _nodes = new Dictionary<string, NodeStatus>();
    private IReadOnlyDictionary<string, string?> _readyPaths = new Dictionary<string, string?>();
    private DockerEngine? _engine;
    private string? _unreachable;
    private object[]? _lastSeen;
    private Task? _loop;

    public SwarmDriver(string stateDirectory, TimeProvider? time = null, Func<Secrets.SecretRef, string>? secrets = null, WakeSignal? changed = null,
        string? endpoint = null, Action<string, string, bool>? record = null)
    {
        Changed = changed ?? new WakeSignal();
        _time = time ?? TimeProvider.System;
        _secrets = secrets;
        _endpoint = endpoint;
        _record = record ?? ((_, _, _) => { });
        _logsDirectory = Path.Combine(stateDirectory, "logs");
        _logs = new SwarmLogs(LogPathOfTask, swarmService => Path.Combine(_logsDirectory, "swarm", swarmService + ".log"), _time);
        Owner = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(stateDirectory))))[..12];
    }

    /// <summary>The label value that marks this control plane's Swarm services.</summary>
    public string Owner { get; }

    public WakeSignal Changed { get; }

    public string? LimitsUnavailable => null;

    /// <summary>The swarm's nodes as last seen.</summary>
    public IReadOnlyList<NodeStatus> Nodes => Volatile.Read(ref _nodes).Values.OrderBy(n => n.Address, StringComparer.Ordinal).ToList();

    /// <summary>Why the manager cannot be reached now, or null.</summary>
    public string? Unreachable => Volatile.Read(ref _unreachable);

    /// <summary>Connects to the manager and reads what runs there; completes after the first full look, so nothing is started twice.</summary>
    public async Task AttachAsync(CancellationToken cancellationToken)
    {
        await EngineAsync(cancellationToken);
        EnsureLoop();
        await _firstSync.Task.WaitAsync(cancellationToken);
    }

    /// <summary>Checks that the manager is one and that it has the image; throws <see cref="DockerUnavailableException"/> saying what is missing.</summary>
    public async Task PrepareAsync(string? image, string? artifactDirectory, string? digest, Action<string>? progress, CancellationToken cancellationToken)
    {
        var engine = await EngineAsync(cancellationToken);
        await new ContainerImages(engine).PrepareAsync(image, artifactDirectory, digest, "on the Swarm manager",
            $"load it into every node's engine (docker save | docker load; deploy/swarm-lab/lab.sh load {image})", progress, cancellationToken);
        await AttachAsync(cancellationToken);
    }

    private async Task<DockerEngine> EngineAsync(CancellationToken cancellationToken)
    {
        if (Volatile.Read(ref _engine) is { } engine)
        {
            return engine;
        }
        var connected = await DockerEngine.ConnectAsync(_endpoint, cancellationToken);
        var info = await connected.Client.System.GetSystemInfoAsync(cancellationToken);
        if (info.Swarm?.LocalNodeState != "active" || info.Swarm.ControlAvailable != true)
        {
            connected.Dispose();
            throw new DockerUnavailableException(info.Swarm?.LocalNodeState != "active"
                ? $"the Docker Engine at {connected.Endpoint} is not in a swarm (state: {info.Swarm?.LocalNodeState ?? "unknown"}): run 'docker swarm init' there, or point Flotilla at a manager (--swarm ENDPOINT)"
                : $"the Docker Engine at {connected.Endpoint} is a swarm worker, not a manager: point Flotilla at a manager (--swarm ENDPOINT; 'docker node ls' on a manager lists them)");
        }
        if (Interlocked.CompareExchange(ref _engine, connected, null) is { } raced)
        {
            connected.Dispose();
            return raced;
        }
        return connected;
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
            _launches[SwarmServiceSpecs.Name(Owner, launch.Service, launch.Revision)] = launch;
            _bindings.Add(new SlotBinding(launch.Id, launch.Service, launch.Revision, null, false, _time.GetUtcNow()));
        }
        WriteLogNote(launch.Service, launch.Id, launch.Revision);
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
            _bindings[index] = _bindings[index].Slot is null
                ? _bindings[index] with { Leaving = true, Gone = true, StopReason = reason }
                : _bindings[index] with { Leaving = true, StopReason = reason };
        }
        _poke.Set();
        Changed.Set();
        var deadline = _time.GetUtcNow() + SwarmServiceSpecs.StopDelay + grace + TimeSpan.FromSeconds(15);
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
                _bindings[index] = _bindings[index] with { Gone = true, StopReason = $"{reason}; Swarm had not shut its task down within {Model.Quantities.Format(deadline - _time.GetUtcNow() + grace)}" };
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
                _lastTasks.Remove(instanceId);
            }
        }
    }

    /// <summary>Nothing to adopt from a journal: the swarm itself is the record (see <see cref="AttachAsync"/>).</summary>
    public Task<bool> AdoptAsync(InstanceLaunch launch, int pid, long? processStartTime, DateTimeOffset startedAt) => Task.FromResult(false);

    /// <summary>Instances found in the swarm are adopted, not strays: the controllers stop those no revision wants.</summary>
    public Task<IReadOnlyList<string>> StopStraysAsync(TimeSpan grace) => Task.FromResult<IReadOnlyList<string>>([]);

    /// <summary>Swarm services run on without the control plane: there is nothing else to leave running.</summary>
    public void LeaveRunningOnDispose()
    {
    }

    /// <summary>One loop per driver, however many callers start it at once.</summary>
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
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var engine = await EngineAsync(cancellationToken);
                await SyncAsync(engine, cancellationToken);
                var probeReady = _time.GetUtcNow() - lastProbe >= ReadyProbeInterval;
                if (probeReady)
                {
                    lastProbe = _time.GetUtcNow();
                }
                await ProbeAsync(probeReady, cancellationToken);
                if (Interlocked.Exchange(ref _unreachable, null) is { } was)
                {
                    _record("swarm", $"the Swarm manager answers again (it was unreachable: {was})", false);
                }
                _firstSync.TrySetResult();
            }
            catch (Exception e) when (e is not OperationCanceledException || !cancellationToken.IsCancellationRequested)
            {
                var why = e is DockerApiException api ? $"the Swarm manager refused: {api.ResponseBody?.Trim()}" : e.Message;
                if (Interlocked.Exchange(ref _unreachable, why) is null)
                {
                    _record("swarm", $"cannot reach the Swarm manager: {why}; instances keep running and the router keeps its routes", true);
                }
                if (e is not DockerUnavailableException && _engine is { } broken && e is HttpRequestException or IOException)
                {
                    Interlocked.CompareExchange(ref _engine, null, broken);
                }
            }
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

    /// <summary>
    /// Wakes the controllers only when what they can observe changed (an instance, a node, whether the
    /// manager answers): a pass that found the swarm as it was is not news, and every wake costs a reconcile.
    /// </summary>
    private void SignalIfChanged()
    {
        object[] seen = [.. Observe(), .. Nodes, Unreachable ?? ""];
        if (_lastSeen is null || !seen.SequenceEqual(_lastSeen))
        {
            _lastSeen = seen;
            Changed.Set();
        }
    }

    /// <summary>One look at the swarm: services, tasks and nodes; bindings follow; replica counts pushed where they differ.</summary>
    private async Task SyncAsync(DockerEngine engine, CancellationToken cancellationToken)
    {
        var manager = new SwarmManager(engine.Client, Owner, _record);
        var (services, tasks, nodes) = await manager.ReadAsync(cancellationToken);
        _logs.Track(engine.Client, services.Select(s => s.Name).ToList());
        ReportNodes(nodes);
        IReadOnlyList<(SwarmManager.Listed Service, ulong Replicas)> changes;
        List<InstanceLaunch> creations;
        lock (_gate)
        {
            _bindings = SlotBindings.Rebind(_bindings, tasks, _time.GetUtcNow()).ToList();
            ReportMoves(tasks, nodes);
            Volatile.Write(ref _tasks, tasks);
            Volatile.Write(ref _nodes, nodes);
            Volatile.Write(ref _readyPaths, services.ToDictionary(s => s.Name, s => s.ReadyPath, StringComparer.Ordinal));
            var wanted = _bindings.Where(b => !b.Leaving && !b.Gone).GroupBy(b => SwarmServiceSpecs.Name(Owner, b.Service, b.Revision)).ToDictionary(g => g.Key, g => (ulong)g.Count(), StringComparer.Ordinal);
            changes = services.Where(s => s.Replicas != wanted.GetValueOrDefault(s.Name)).Select(s => (s, wanted.GetValueOrDefault(s.Name))).ToList();
            creations = wanted.Keys.Where(name => services.All(s => s.Name != name) && _launches.ContainsKey(name)).Select(name => _launches[name]).ToList();
        }
        foreach (var (service, replicas) in changes)
        {
            await manager.ScaleAsync(service, replicas, cancellationToken);
        }
        foreach (var launch in creations)
        {
            ulong replicas;
            lock (_gate)
            {
                replicas = (ulong)_bindings.Count(b => b.Service == launch.Service && b.Revision == launch.Revision && !b.Leaving && !b.Gone);
            }
            await manager.CreateAsync(launch, replicas, _secrets, cancellationToken);
        }
    }

    private async Task ProbeAsync(bool probeReady, CancellationToken cancellationToken)
    {
        List<(string Id, string Host, int Port, string? Path)> targets;
        lock (_gate)
        {
            var paths = Volatile.Read(ref _readyPaths);
            targets = _bindings.Where(b => !b.Gone && !b.Leaving)
                .Select(b => (Binding: b, Task: CurrentTask(b)))
                .Where(x => x.Task is { Running: true, HostPort: not null } && x.Task.NodeId is { } node && _nodes.ContainsKey(node))
                .Where(x => probeReady || !_probes.TryGetValue(x.Binding.InstanceId, out var p) || p.ReadySince is null)
                .Select(x => (x.Binding.InstanceId, _nodes[x.Task!.NodeId!].Address, x.Task.HostPort!.Value, paths.GetValueOrDefault(x.Task.SwarmService)))
                .ToList();
        }
        var results = await Task.WhenAll(targets.Select(async t => (t.Id, Ok: await _prober.ProbeAsync(t.Host, t.Port, t.Path, cancellationToken))));
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

    /// <summary>The task that fills a binding's slot now: the one Swarm wants running, else the latest.</summary>
    private SwarmTask? CurrentTask(SlotBinding binding) => binding.Slot is not { } slot ? null : Volatile.Read(ref _tasks)
        .Where(t => t.Service == binding.Service && t.Revision == binding.Revision && t.Slot == slot)
        .OrderByDescending(t => t.Wanted).ThenByDescending(t => t.CreatedAt).FirstOrDefault();

    private InstanceStatus StatusOf(SlotBinding binding)
    {
        var task = CurrentTask(binding);
        var node = task?.NodeId is { } nodeId ? _nodes.GetValueOrDefault(nodeId) : null;
        var probe = _probes.GetValueOrDefault(binding.InstanceId) ?? new Probe();
        var state = binding.Gone ? InstanceState.Exited
            : binding.Leaving ? InstanceState.Stopping
            : task is not { Running: true } ? InstanceState.Starting
            : probe.ReadySince is not null ? InstanceState.Ready
            : probe.WasReady ? InstanceState.Unready : InstanceState.Starting;
        var reason = binding.Gone || binding.Leaving ? binding.StopReason ?? "Swarm removed its slot"
            : task is null ? "waiting for Swarm to place it"
            : task.Running ? null
            : $"task {task.State}{(task.Error is { Length: > 0 } e ? $": {e}" : "")}";
        return new InstanceStatus(binding.InstanceId, binding.Service, binding.Revision, 0, null, task?.HostPort ?? 0, state, binding.StartedAt,
            state == InstanceState.Ready ? probe.ReadySince : null, probe.WasReady, binding.Leaving, binding.Gone ? (int?)(task?.ExitCode ?? 0) : null, reason,
            LogPath(binding.Service, binding.InstanceId), node?.Zone, node?.Address ?? "127.0.0.1") { Node = node?.Name };
    }

    private readonly Dictionary<string, (string TaskId, string? Node)> _lastTasks = new(StringComparer.Ordinal);

    /// <summary>An event when an instance's task changes: it died and Swarm replaced it, or it moved to another node.</summary>
    private void ReportMoves(IReadOnlyList<SwarmTask> tasks, IReadOnlyDictionary<string, NodeStatus> nodes)
    {
        Volatile.Write(ref _tasks, tasks);
        foreach (var binding in _bindings.Where(b => !b.Gone))
        {
            if (CurrentTask(binding) is not { } task)
            {
                continue;
            }
            if (_lastTasks.TryGetValue(binding.InstanceId, out var last) && last.TaskId != task.Id)
            {
                var from = last.Node is { } f && nodes.TryGetValue(f, out var a) ? a.Name : last.Node ?? "?";
                var to = task.NodeId is { } t && nodes.TryGetValue(t, out var b) ? b.Name : "a node not chosen yet";
                _record(binding.InstanceId, from == to ? $"Swarm replaced its task on node {to}" : $"moved by Swarm from node {from} to {to}", from != to);
                _probes.Remove(binding.InstanceId);
            }
            _lastTasks[binding.InstanceId] = (task.Id, task.NodeId);
        }
    }

    private void ReportNodes(IReadOnlyDictionary<string, NodeStatus> nodes)
    {
        var before = Volatile.Read(ref _nodes);
        if (before.Count == 0)
        {
            return;
        }
        foreach (var node in nodes.Values)
        {
            var was = before.GetValueOrDefault(node.Id);
            if (was is null)
            {
                _record("swarm", $"node {node.Name} joined the swarm", false);
            }
            else if (was.Ready != node.Ready)
            {
                List<string> held;
                lock (_gate)
                {
                    held = _bindings.Where(b => !b.Gone && CurrentTask(b)?.NodeId == node.Id).Select(b => b.InstanceId).ToList();
                }
                _record("swarm", node.Ready ? $"node {node.Name} is back ({node.State}, {node.Availability})"
                    : $"node {node.Name} is {node.State} ({node.Availability}); it ran {(held.Count == 0 ? "no instance" : string.Join(", ", held))}: Swarm places {(held.Count == 1 ? "it" : "them")} elsewhere", !node.Ready);
            }
        }
        foreach (var gone in before.Values.Where(n => !nodes.ContainsKey(n.Id)))
        {
            _record("swarm", $"node {gone.Name} left the swarm", true);
        }
    }

    private string LogPath(string service, string id) => Path.Combine(_logsDirectory, service, id + ".log");

    /// <summary>The log file of the instance a task fills the slot of, or null when no instance is bound to it.</summary>
    private string? LogPathOfTask(string taskId)
    {
        lock (_gate)
        {
            var task = Volatile.Read(ref _tasks).FirstOrDefault(t => t.Id == taskId);
            var binding = task is null ? null : _bindings.FirstOrDefault(b => b.Service == task.Service && b.Revision == task.Revision && b.Slot == task.Slot);
            return binding is null ? null : LogPath(binding.Service, binding.InstanceId);
        }
    }

    /// <summary>The instance's log file starts with where it runs; <see cref="SwarmLogs"/> copies its task's output after it.</summary>
    private void WriteLogNote(string service, string id, string revision)
    {
        try
        {
            var path = LogPath(service, id);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            File.AppendAllText(path, $"--- {DateTimeOffset.UtcNow:O} flotilla: {id} (revision {revision}) runs as a task of Swarm service {SwarmServiceSpecs.Name(Owner, service, revision)} (its output follows, copied from the manager)\n");
        }
        catch (IOException)
        {
        }
    }

    public async ValueTask DisposeAsync()
    {
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
        await _logs.DisposeAsync();
        _prober.Dispose();
        _engine?.Dispose();
    }

    private sealed record Probe(DateTimeOffset? ReadySince = null, bool WasReady = false, int Failures = 0);
}
