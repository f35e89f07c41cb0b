using System.Collections.Concurrent;
using Flotilla.Artifacts;
using Flotilla.Conditions;
using Flotilla.Events;
using Flotilla.Hosting;
using Flotilla.Model;

namespace Flotilla.Federation;

/// <summary>
/// One system over several clusters (<c>clusters:</c>): a control plane per cluster, each in its own
/// data directory (<c>clusters/NAME/</c>: store, router, instances, on the cluster's runtime), and a
/// worker per cluster that hands it the federation's revision when the planner says so. An apply is
/// validated and built whole before anything changes, then recorded (<c>federation.json</c>) and
/// carried to each cluster by its worker: an unreachable cluster is marked and retried with back-off
/// while the others go on; an ordered release goes cluster by cluster, the first as the canary.
/// </summary>
public sealed class Federation : IAsyncDisposable
{
    private readonly string _directory;
    private readonly ControlPlaneOptions _template;
    private readonly FederationOptions _options;
    private readonly TimeProvider _time;
    private readonly FederationFile _file;
    private readonly SemaphoreSlim _applying = new(1, 1);
    private readonly ConcurrentDictionary<string, ClusterWorker> _workers = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, ClusterObservation> _observed = new(StringComparer.Ordinal);
    private readonly Lock _progressGate = new();
    private Dictionary<string, ClusterProgress> _progress = new(StringComparer.Ordinal);
    private FederationRevision? _desired;
    private IReadOnlyDictionary<string, SystemSpec> _specs = new Dictionary<string, SystemSpec>();

    private readonly TenantAdmission? _admission;

    private Federation(string directory, ControlPlaneOptions template, FederationOptions options, TenantAdmission? admission)
    {
        _directory = directory;
        _admission = admission;
        _template = template;
        _options = options;
        _time = template.Time ?? TimeProvider.System;
        _file = new FederationFile(directory);
        Events = new EventLog(_time);
    }

    /// <summary>What the federation did and saw (each cluster's part is also in that cluster's own events).</summary>
    public EventLog Events { get; }

    public string DataDirectory => _directory;

    /// <summary>The revision every cluster should run, or null before the first apply.</summary>
    public FederationRevision? Desired => Volatile.Read(ref _desired);

    /// <summary>The clusters in release order.</summary>
    public IReadOnlyList<string> Clusters => Desired?.Clusters ?? [];

    /// <summary>The control plane of one cluster (for everything a single control plane answers: ps, logs, rollouts), or null.</summary>
    public ControlPlane? Plane(string cluster) => _workers.TryGetValue(cluster, out var worker) ? worker.Plane : null;

    /// <summary>Starts a federation in <paramref name="directory"/>: again what it ran before a restart (each cluster's control plane re-adopts its instances).</summary>
    /// <param name="admission">Its tenant's quota: checked over all clusters at apply, and by each cluster's control plane for its own changes (scale, undo...); null: none.</param>
    public static async Task<Federation> StartAsync(string directory, ControlPlaneOptions template, FederationOptions? options = null, CancellationToken cancellationToken = default,
        TenantAdmission? admission = null)
    {
        var federation = new Federation(directory, template, options ?? new FederationOptions(), admission);
        try
        {
            var saved = federation._file.Read();
            if (saved.Revision is { } revision)
            {
                federation._progress = saved.Clusters.ToDictionary(p => p.Cluster, StringComparer.Ordinal);
                federation._specs = federation.Reread(revision);
                foreach (var target in revision.Targets)
                {
                    await federation.StartClusterAsync(target, cancellationToken);
                }
                Volatile.Write(ref federation._desired, revision);
                foreach (var worker in federation._workers.Values)
                {
                    worker.Start();
                }
            }
            return federation;
        }
        catch
        {
            await federation.DisposeAsync();
            throw;
        }
    }

    /// <summary>Each cluster's spec from the revision's text; a spec that no longer parses leaves the clusters running what they run.</summary>
    private Dictionary<string, SystemSpec> Reread(FederationRevision revision)
    {
        try
        {
            return ClusterOverlay.All(SpecLoader.Parse(revision.SpecYaml, revision.SpecFile, revision.Environment)).ToDictionary(o => o.Cluster.Name, o => o.Spec, StringComparer.Ordinal);
        }
        catch (SpecException e)
        {
            Events.Record("federation", $"revision {revision.Number} no longer parses ({e.Errors[0]}): clusters keep what they run; apply again", warning: true);
            return new Dictionary<string, SystemSpec>(StringComparer.Ordinal);
        }
    }

    /// <summary>
    /// Makes a federated spec the desired state of every cluster: parsed, each cluster's overlay checked
    /// and the artifacts built first (any failure refuses it with nothing changed), then recorded as the
    /// next revision and handed to the clusters' workers. Returns before the clusters have it.
    /// </summary>
    public async Task<FederationApplyResult> ApplyAsync(ApplyRequest request, Action<string>? progress = null, CancellationToken cancellationToken = default)
    {
        var spec = SpecLoader.Parse(request.SpecYaml, request.SpecFile, request.Environment);
        if (spec.Clusters.Count == 0)
        {
            throw new ControlPlaneException($"spec '{spec.Name}' declares no clusters: this environment runs over clusters; add 'clusters:' or apply to another environment", ControlPlaneError.Invalid);
        }
        var overlaid = ClusterContexts.Overlay(spec);
        var artifacts = new ArtifactStore(_template.ArtifactsDirectory);
        foreach (var service in spec.Services)
        {
            await artifacts.EnsureAsync(service, m => progress?.Invoke($"{service.Name}: {m}"), cancellationToken);
        }
        await _applying.WaitAsync(cancellationToken);
        try
        {
            var current = Desired;
            if (request.BasedOn is { } basedOn && basedOn != (current?.Number ?? 0))
            {
                throw new Store.StaleRevisionException(basedOn, current?.Number ?? 0);
            }
            if (current is not null && current.SpecYaml == request.SpecYaml && current.SpecFile == request.SpecFile && current.Environment == request.Environment)
            {
                return new FederationApplyResult(current.Number, true, Summary(current));
            }
            var targets = overlaid.Select(o => new ClusterTarget(o.Cluster.Name, o.Cluster.Kind,
                o.Cluster.Endpoint ?? ClusterProbe.DefaultEndpoint(o.Cluster.Kind, _template.DockerEndpoint, _template.SwarmEndpoint),
                o.Cluster.Kubernetes?.Context, o.Cluster.Kubernetes?.Namespace, o.Cluster.Kubernetes?.Kubeconfig)).ToList();
            foreach (var target in targets.Where(t => _workers.TryGetValue(t.Name, out var w) && w.Cluster != t))
            {
                var before = _workers[target.Name].Cluster;
                throw new ControlPlaneException($"cluster '{target.Name}' was {before.Kind} at {before.Where} and would be {target.Kind} at {target.Where}: a cluster keeps its target; give the new one another name",
                    ControlPlaneError.Invalid);
            }
            // The tenant's quota over every cluster at once, up front: refused, nothing has started. Held until the revision is recorded.
            using var admitted = _admission?.AdmitFederation([.. _workers.Values.Select(w => w.Plane)], Footprints(overlaid)) ?? NothingHeld.Instance;
            var started = new List<ClusterWorker>();
            try
            {
                foreach (var target in targets.Where(t => !_workers.ContainsKey(t.Name)))
                {
                    started.Add(await StartClusterAsync(target, cancellationToken));
                }
            }
            catch
            {
                foreach (var worker in started)
                {
                    _workers.TryRemove(worker.Name, out _);
                    await worker.DisposeAsync();
                    await worker.Plane.DisposeAsync();
                }
                throw;
            }
            var revision = new FederationRevision((current?.Number ?? 0) + 1, request.SpecYaml, request.SpecFile, request.Environment, request.Actor, _time.GetUtcNow(),
                targets, spec.ClusterRelease.Ordered, spec.ClusterRelease.Deadline, request.GitCommit);
            lock (_progressGate)
            {
                _progress = _progress.Where(p => revision.Clusters.Contains(p.Key)).ToDictionary(StringComparer.Ordinal);
                _file.Write(new FederationFile.Content(revision, [.. _progress.Values]));
            }
            Volatile.Write(ref _specs, overlaid.ToDictionary(o => o.Cluster.Name, o => o.Spec, StringComparer.Ordinal));
            Volatile.Write(ref _desired, revision);
            foreach (var worker in started)
            {
                worker.Start();
            }
            admitted.Dispose();
            await DropAsync(_workers.Values.Where(w => !revision.Clusters.Contains(w.Name)).ToList());
            Events.Record("federation", $"revision {revision.Number} applied by {request.Actor}: {Summary(revision)}");
            WakeAll();
            return new FederationApplyResult(revision.Number, false, Summary(revision));
        }
        finally
        {
            _applying.Release();
        }
    }

    private static string Summary(FederationRevision revision) =>
        $"{revision.Clusters.Count} cluster{(revision.Clusters.Count == 1 ? "" : "s")} ({string.Join(", ", revision.Targets.Select(t => $"{t.Name}: {t.Kind}"))}), "
        + (revision.Ordered ? $"ordered: '{revision.Clusters[0]}' first, as the canary of the rest" : "all at once");

    private async Task<ClusterWorker> StartClusterAsync(ClusterTarget target, CancellationToken cancellationToken)
    {
        var options = new ControlPlaneOptions(Path.Combine(_directory, "clusters", target.Name), _template.RouterCommand, _template.Time)
        {
            ArtifactsDirectory = _template.ArtifactsDirectory,
            DockerEndpoint = target.Kind == RuntimeKind.Docker ? target.Endpoint : _template.DockerEndpoint,
            SwarmEndpoint = target.Kind == RuntimeKind.Swarm ? target.Endpoint : _template.SwarmEndpoint,
            RouterReplicas = null,
            // Its own context and namespace; its owner id is kept in its own data directory, as the driver keeps it.
            Kubernetes = target.Kind == RuntimeKind.Kubernetes ? target.KubernetesOver(_template.Kubernetes) : _template.Kubernetes,
        };
        var plane = await ControlPlane.StartAsync(options, cancellationToken);
        plane.Admission = _admission;
        var worker = new ClusterWorker(this, target, plane, _options, _time);
        _workers[target.Name] = worker;
        _observed[target.Name] = ClusterObservation.Initial(ProgressOf(target.Name));
        plane.Events.Record("federation", $"cluster '{target.Name}' ({target.Kind}{(target.Endpoint is null && target.Kind != RuntimeKind.Kubernetes ? "" : $" at {target.Where}")}) started in {plane.DataDirectory}");
        return worker;
    }

    /// <summary>Clusters no longer in the spec: their instances drained and stopped (bounded), then forgotten.</summary>
    private async Task DropAsync(IReadOnlyList<ClusterWorker> dropped)
    {
        foreach (var worker in dropped)
        {
            _workers.TryRemove(worker.Name, out _);
            _observed.TryRemove(worker.Name, out _);
            await worker.DisposeAsync();
            var stop = worker.Plane.StopDataPlaneAsync();
            if (await Task.WhenAny(stop, Task.Delay(TimeSpan.FromMinutes(1), _time)) != stop)
            {
                Events.Record(worker.Name, $"cluster '{worker.Name}' left the spec but its instances did not stop within a minute; what still runs there is left running", warning: true);
            }
            await worker.Plane.DisposeAsync();
            Events.Record(worker.Name, $"cluster '{worker.Name}' left the spec: its instances were stopped");
        }
    }

    /// <summary>
    /// What the clusters would run, at the peak of the change: each cluster's overlay, each service's surge counted where the
    /// cluster runs it now (a service whose revision does not change is counted as rolling too: a federation does not know yet).
    /// </summary>
    private List<Tenancy.ServiceFootprint> Footprints(IReadOnlyList<(ClusterSpec Cluster, SystemSpec Spec)> overlaid) =>
        [.. overlaid.SelectMany(o =>
        {
            var running = _workers.TryGetValue(o.Cluster.Name, out var worker) ? worker.Plane.Composed() : [];
            return o.Spec.Services.Select(s => Footprint(s, running.FirstOrDefault(r => r.Name == s.Name)?.Instances ?? 0));
        })];

    private static Tenancy.ServiceFootprint Footprint(ServiceSpec service, int before) =>
        new(service.Name, service.Instances, service.Function is null ? TenantAdmission.Surge(service.Rollout, service.Instances, before) : 0,
            service.Resources?.Cpu ?? 0, service.Resources?.MemoryBytes ?? 0, service.Function?.Scale.Max);

    /// <summary>Each cluster with what this federation's revision has it run at rest (its tenant's quota counts it).</summary>
    public IReadOnlyList<ClusterQuotaUse> QuotaUses()
    {
        var specs = Volatile.Read(ref _specs);
        return [.. _workers.Values.Select(w => new ClusterQuotaUse(w.Plane,
            Tenancy.QuotaPlanner.Sum(specs.GetValueOrDefault(w.Name)?.Services.Select(s => Footprint(s, 0)) ?? [], peak: false)))];
    }

    internal SystemSpec? SpecOf(string cluster) => Volatile.Read(ref _specs).GetValueOrDefault(cluster);

    internal ClusterObservation Observation(string cluster) => _observed.GetValueOrDefault(cluster) ?? ClusterObservation.Initial(ProgressOf(cluster));

    internal IReadOnlyDictionary<string, ClusterObservation> Observations() => new Dictionary<string, ClusterObservation>(_observed, StringComparer.Ordinal);

    internal void Publish(ClusterObservation observation)
    {
        if (_workers.ContainsKey(observation.Cluster))
        {
            _observed[observation.Cluster] = observation;
        }
    }

    private ClusterProgress ProgressOf(string cluster)
    {
        lock (_progressGate)
        {
            return _progress.GetValueOrDefault(cluster) ?? ClusterProgress.None(cluster);
        }
    }

    internal void SaveProgress(ClusterProgress progress)
    {
        lock (_progressGate)
        {
            _progress[progress.Cluster] = progress;
            _file.Write(new FederationFile.Content(Desired, [.. _progress.Values]));
        }
    }

    /// <summary>Every worker looks again (a cluster's change may let the next one of an ordered release go).</summary>
    internal void WakeAll()
    {
        foreach (var worker in _workers.Values)
        {
            worker.Wake();
        }
    }

    public FederationStatus Status()
    {
        var desired = Desired;
        if (desired is null)
        {
            return new FederationStatus(null, 0, null, null, false, []);
        }
        var observed = Observations();
        var steps = FederationPlanner.Plan(desired, observed, _time.GetUtcNow()).ToDictionary(s => s.Cluster, StringComparer.Ordinal);
        // A cluster added or dropped by an apply under way has no worker yet, or no more: it is left out of this snapshot.
        var clusters = desired.Targets.Select(t => _workers.TryGetValue(t.Name, out var worker) ? (Target: t, worker.Plane) : default).Where(c => c.Plane is not null).Select(c =>
        {
            var (target, plane) = c;
            var seen = observed.GetValueOrDefault(target.Name) ?? ClusterObservation.Initial(ProgressOf(target.Name));
            var services = plane.Status().Services.Select(s => new ClusterServiceStatus(s.Name, s.Desired, s.Ready, s.Revision, s.Endpoint)).ToList();
            var step = steps[target.Name];
            return new ClusterStatus(target.Name, target.Kind, target.Kind == RuntimeKind.Kubernetes ? target.Where : target.Endpoint, seen.Progress.Revision, seen.Progress.PlaneRevision, seen.Reachable,
                seen.Health.ToString().ToLowerInvariant(), step.Action.ToString().ToLowerInvariant(), step.Reason, services.Sum(s => s.Desired), services.Sum(s => s.Ready),
                services, Conditions(seen, step), plane.DataDirectory);
        }).ToList();
        return new FederationStatus(desired.Environment, desired.Number, desired.Actor, desired.At, desired.Ordered, clusters);
    }

    private static List<Condition> Conditions(ClusterObservation seen, ClusterStep step)
    {
        var conditions = new List<Condition>();
        if (seen.Reachable == false)
        {
            conditions.Add(new Condition(ConditionType.Unreachable, "EngineUnreachable", $"{seen.Cause} ({seen.Failures} tr{(seen.Failures == 1 ? "y" : "ies")}; next at {seen.RetryAt:HH:mm:ss})"));
        }
        if (seen.Health == ClusterHealth.Failed)
        {
            conditions.Add(new Condition(ConditionType.Degraded, "ReleaseFailed", seen.HealthDetail ?? "failed"));
        }
        else if (step.Action == ClusterAction.Halted)
        {
            conditions.Add(new Condition(ConditionType.Degraded, "ReleaseHalted", step.Reason));
        }
        else if (step.Action is ClusterAction.Hold or ClusterAction.Apply or ClusterAction.Applying || seen.Health == ClusterHealth.Progressing)
        {
            conditions.Add(new Condition(ConditionType.Progressing, step.Action == ClusterAction.Hold ? "WaitingForCluster" : "Releasing", step.Action == ClusterAction.None ? seen.HealthDetail ?? step.Reason : step.Reason));
        }
        return conditions;
    }

    /// <summary>Drains and stops every cluster's instances and routers (a full shutdown).</summary>
    public async Task StopDataPlanesAsync()
    {
        foreach (var worker in _workers.Values)
        {
            await worker.DisposeAsync();
            await worker.Plane.StopDataPlaneAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var worker in _workers.Values)
        {
            await worker.DisposeAsync();
            await worker.Plane.DisposeAsync();
        }
        _workers.Clear();
        _applying.Dispose();
    }
}
