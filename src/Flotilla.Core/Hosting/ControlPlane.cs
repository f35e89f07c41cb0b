using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;
using Flotilla.Artifacts;
using Flotilla.Controllers.GitOps;
using Flotilla.Controllers.InstanceSets;
using Flotilla.Controllers.Rollouts;
using Flotilla.Events;
using Flotilla.Flags;
using Flotilla.Hosting.FlagServing;
using Flotilla.Model;
using Flotilla.Router;
using Flotilla.Router.Remote;
using Flotilla.Runtime;
using Flotilla.Store;

namespace Flotilla.Hosting;

/// <summary>
/// The control plane of one system: the durable store, the instance-set controller, the runtime
/// driver and the router it feeds. Every change of desired state (apply, scale, stop, start, zone)
/// goes through here, is written to the store with its audit record before it takes effect, and
/// is then handed to the controller. On start it re-adopts what an earlier control plane left
/// running and reconciles only the difference.
/// </summary>
public sealed partial class ControlPlane : IAsyncDisposable, IGitOpsTarget
{
    private readonly ControlPlaneOptions _options;
    private readonly StateStore _store;
    private readonly ArtifactStore _artifacts;
    private readonly RuntimeSet _driver;
    private readonly IRouter _router;
    private readonly InstanceSetController _controller;
    private readonly Controllers.Functions.FunctionController _functions;
    private readonly Controllers.Queues.QueueDelivery _queues;
    private readonly Controllers.Schedules.ScheduleController _schedules;
    private readonly Controllers.Inboxes.InboxController _inboxes;
    // Every revision is recorded under this lock (one writer of revisions), and the rollout watch takes it to
    // publish a release's step or abort: it guards changes of state only, never a build or other slow work.
    private readonly SemaphoreSlim _changing = new(1, 1);
    private readonly FlagService _flagService;
    private readonly GitOpsSync _gitOpsSync;
    private readonly RolloutWatch _rolloutWatch;
    private Task _gitOpsLoop = Task.CompletedTask;
    private readonly TimeProvider _time;
    private DesiredState _state = DesiredState.Empty;
    private readonly ReleaseController _releases;
    private IReadOnlyList<DesiredService> _composed = [];
    private IReadOnlyDictionary<string, string> _problems = new Dictionary<string, string>();
    private int _disposed;
    private readonly CancellationTokenSource _rolloutStop = new();
    private Task _rolloutLoop = Task.CompletedTask;
    private DataDirectoryLock? _lock;
    private readonly DatabaseApplyStep _databases;

    private ControlPlane(ControlPlaneOptions options, StateStore store, IRouter router, EventLog events)
    {
        _options = options;
        _store = store;
        _router = router;
        _time = options.Time ?? TimeProvider.System;
        Events = events;
        _artifacts = new ArtifactStore(options.ArtifactsDirectory);
        Secrets = new Secrets.SecretStore(store, options.DataDirectory);
        var users = InstanceIsolation.Compose(options, events);
        _databases = new DatabaseApplyStep(options.DataDirectory, Secrets, store, users);
        Engines = new Databases.Engines.EngineController(Path.Combine(options.DataDirectory, "engines"), _databases, (subject, message, warning) => events.Record(subject, message, warning), _time);
        _databases.Engines = Engines;
        _driver = new RuntimeSet(options.DataDirectory, new StoreJournal(store), _time, Secrets.Resolve, options.DockerEndpoint, options.SwarmEndpoint,
            (subject, message, warning) => Events.Record(subject, message, warning), users, options.Kubernetes);
        _controller = new InstanceSetController(_driver, router, events, _time);
        _functions = new Controllers.Functions.FunctionController(router, Functions, Publish, events, _time);
        _queues = new Controllers.Queues.QueueDelivery(store, Functions, name => router.Endpoints.TryGetValue(name, out var port) ? port : null, events, _time);
        // Schedules and inboxes only enqueue; their runs are delivered as the queue's messages are.
        _schedules = new Controllers.Schedules.ScheduleController(store, Functions, _queues.Wake, _queues.Stop, events, _time);
        _inboxes = new Controllers.Inboxes.InboxController(store, Functions, _queues.Wake, events, _time);
        _releases = new ReleaseController(FindServiceRevision, SaveRelease, events, _time);
        _flagService = new FlagService(store, router, events, _time, () => State.Flags, () => Secrets.Derive("flags-access"));
        _gitOpsSync = new GitOpsSync(store, this, events, _time, options.DataDirectory);
        _rolloutWatch = new RolloutWatch(_controller, FindServiceRevision, ReplaceServiceAsync, RecordResult, events, _time);
    }

    public EventLog Events { get; }

    /// <summary>The functions of the desired state (services whose count follows demand).</summary>
    private IReadOnlyList<DesiredService> Functions() => State.Services.Where(s => s.Function is not null).ToList();

    /// <summary>Functions' queues: push, and delivery (<see cref="Controllers.Queues.QueueDelivery"/>).</summary>
    public Controllers.Queues.QueueDelivery Queues => _queues;

    /// <summary>Functions' schedules as of the last look (next occurrence, last run and skip).</summary>
    public IReadOnlyDictionary<string, Controllers.Schedules.ScheduleStatus> Schedules => _schedules.Statuses;
    /// <summary>The database engines this environment runs itself (PostgreSQL primaries and replicas).</summary>
    public Databases.Engines.EngineController Engines { get; }

    /// <summary>This environment's secrets (its own store and key: environments never see each other's).</summary>
    public Secrets.SecretStore Secrets { get; }

    /// <summary>
    /// How minimal APIs bind a handler's <see cref="ControlPlane"/> parameter: as the API's
    /// <see cref="IControlPlaneBinder"/> says (the environment the request names). (Not a scoped
    /// service: the container would dispose the control plane at the end of each request.)
    /// </summary>
    public static ValueTask<ControlPlane?> BindAsync(Microsoft.AspNetCore.Http.HttpContext context) =>
        context.RequestServices.GetService(typeof(IControlPlaneBinder)) is IControlPlaneBinder binder ? binder.BindAsync(context) : ValueTask.FromResult<ControlPlane?>(null);
    public StateStore Store => _store;

    /// <summary>The data plane this control plane drives (in this process, or a router process).</summary>
    /// <summary>The control plane's own router (its replicas, when it has any, follow it).</summary>
    public IRouter DataPlane => _router is RouterSet set ? set.Primary : _router;
    public string DataDirectory => _options.DataDirectory;
    public DesiredState State => Volatile.Read(ref _state);
    public IReadOnlyDictionary<string, int> Endpoints => _router.Endpoints;
    public RoutingTable Routes => _router.Table;

    /// <summary>Reconcile passes that acted; constant while the system is converged.</summary>
    public long ActiveReconcilePasses => _controller.ActivePasses;

    /// <summary>Reconcile passes, idle ones too.</summary>
    public long ReconcilePasses => _controller.Passes;

    /// <summary>Looks the rollout watch took at every release and rolling update (every 250 ms).</summary>
    public long RolloutLooks => Interlocked.Read(ref _rolloutLooks);

    /// <summary>The sequence number of the first event this start recorded (what happened at start: router, adoption).</summary>
    public long FirstEventOfThisStart { get; private init; }

    /// <summary>How long the start took to re-adopt what was running, and how many instances it adopted.</summary>
    public (TimeSpan Took, int Instances) Adoption { get; private set; }

    /// <summary>The flags served now (the revision's with runtime changes over them): <see cref="FlagService"/>.</summary>
    public FlagSet Flags => _flagService.Served;

    /// <summary>The flags' base URL as instances get it (FLOTILLA_FLAGS_URL), or null.</summary>
    public string? FlagsUrl => _flagService.Url;

    /// <summary>Changes a flag at runtime (see <see cref="FlagService.ChangeAsync"/>). Throws <see cref="ControlPlaneException"/>.</summary>
    public Task<FlagView> ChangeFlagAsync(string key, JsonObject patch, string actor, CancellationToken cancellationToken = default) =>
        UnderLockAsync(ct => _flagService.ChangeAsync(key, patch, actor, ct), cancellationToken);

    /// <summary>Drops a flag's runtime change: the spec's definition serves again.</summary>
    public Task<FlagView> ResetFlagAsync(string key, string actor, CancellationToken cancellationToken = default) =>
        UnderLockAsync(ct => _flagService.ResetAsync(key, actor, ct), cancellationToken);

    public IReadOnlyList<FlagView> FlagViews() => _flagService.Views();

    public FlagView View(string key) => _flagService.View(key);

    /// <summary>The flags that differ from the spec because of a runtime change (drift from what git says).</summary>
    public IReadOnlyList<FlagView> FlagDrift() => _flagService.Drift();

    /// <summary>Where the followed repository stands; null when none is followed (<see cref="GitOpsSync"/>).</summary>
    public GitOpsStatus? GitOps => _gitOpsSync.Status;

    public GitOpsStatus FollowRepository(GitOpsSource source) => _gitOpsSync.Follow(source);

    public void StopFollowing(string actor)
    {
        if (!_gitOpsSync.StopFollowing(actor))
        {
            throw new ControlPlaneException("no repository is followed", ControlPlaneError.NotFound);
        }
    }

    /// <summary>Checks the followed repository now instead of at the next interval.</summary>
    public void WakeGitOps() => _gitOpsSync.Wake();

    async Task<long?> IGitOpsTarget.ApplyAsync(string specYaml, string specFile, string? environment, string actor, string commit, string note, CancellationToken cancellationToken)
    {
        try
        {
            var result = await ApplyAsync(new ApplyRequest(specYaml, specFile, environment, null, actor, commit, note), cancellationToken: cancellationToken);
            return result.Unchanged ? null : result.Revision.Number;
        }
        catch (ControlPlaneException e)
        {
            throw new CommitRefusedException(e.Message, e);
        }
    }

    int? IGitOpsTarget.DeclaredInstances(string service) => State.Find(service)?.Instances;

    IReadOnlyList<GitOpsDrift> IGitOpsTarget.FlagDrift() =>
        FlagDrift().Select(flag => new GitOpsDrift(new(Conditions.ConditionType.FlagDrift, "ChangedAtRuntime", $"flag {flag.Key} changed at runtime by {flag.ChangedBy}: {flag.Drift}"),
            () => ResetFlagAsync(flag.Key, "gitops (self-heal)"))).ToList();

    void IGitOpsTarget.Publish() => Publish();

    bool IGitOpsTarget.AllReady => Status().AllReady;

    public IReadOnlyList<string> Warnings => State.Services
        .Where(s => s.Resources is not null && _driver.LimitsUnavailableOn(s.RuntimeName) is not null)
        .Select(s => $"service '{s.Name}': resources are not enforced: {_driver.LimitsUnavailableOn(s.RuntimeName)}").ToList();

    public static async Task<ControlPlane> StartAsync(ControlPlaneOptions options, CancellationToken cancellationToken = default)
    {
        IReadOnlyList<Uri> replicas;
        try
        {
            replicas = RouterSet.ParseReplicas(options.RouterReplicas, options.RouterReplicaSecret);
        }
        catch (ArgumentException e)
        {
            throw new ControlPlaneException(e.Message, ControlPlaneError.Invalid);
        }
        var exclusive = DataDirectoryLock.Acquire(options.DataDirectory);
        StateStore store;
        try
        {
            store = StateStore.Open(options.DataDirectory);
        }
        catch
        {
            exclusive.Dispose();
            throw;
        }
        ControlPlane? plane = null;
        IRouter? router = null;
        try
        {
            var events = new EventLog(options.Time ?? TimeProvider.System, 1000, store.AppendEvent, store.Events(0, 1000));
            var firstOfThisStart = events.LastSequence + 1;
            if (RouterRefusal.AtStart(options.RouterEngine, options.DataDirectory, store) is { } refusal)
            {
                // Before the engine starts: nothing is left running, nothing is changed.
                throw new ControlPlaneException(refusal, ControlPlaneError.Invalid);
            }
            router = options.RouterEngine == "haproxy"
                ? await Router.HAProxy.HAProxyRouter.StartAsync(Path.Combine(options.DataDirectory, "haproxy"), (message, warning) => events.Record("router", message, warning),
                    stopOnDispose: options.RouterCommand is null, cancellationToken: cancellationToken)
                : options.RouterCommand is { } command
                ? await RouterClient.AttachOrStartAsync(options.DataDirectory, command, (message, warning) => events.Record("router", message, warning), options.RouterArguments, cancellationToken)
                : new RouterHost(message => events.Record("router", message, true));
            router = RouterSet.Compose(router, replicas, options.RouterReplicaSecret ?? "", (message, warning) => events.Record("router", message, warning));
            plane = new ControlPlane(options, store, router, events) { FirstEventOfThisStart = firstOfThisStart, _lock = exclusive };
            await plane.RecoverAsync(cancellationToken);
            plane.Engines.SetDesired(plane.State.Engines ?? []);
            plane.Engines.Start();
            plane._controller.Start();
            plane._functions.Start();
            plane._queues.Start();
            plane._schedules.Start();
            plane._inboxes.Start();
            plane._rolloutLoop = Task.Run(() => plane.RolloutLoopAsync(plane._rolloutStop.Token), CancellationToken.None);
            plane._gitOpsLoop = Task.Run(() => plane._gitOpsSync.RunAsync(plane._rolloutStop.Token), CancellationToken.None);
            return plane;
        }
        catch
        {
            if (plane is not null)
            {
                await plane.DisposeAsync();
            }
            else
            {
                if (router is not null)
                {
                    await router.DisposeAsync();
                }
                store.Dispose();
                exclusive.Dispose();
            }
            throw;
        }
    }

    /// <summary>Loads the latest revision, reopens its endpoints, adopts the instances that still run, stops strays.</summary>
    private async Task RecoverAsync(CancellationToken cancellationToken)
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        if (_store.LatestRevision() is { } latest)
        {
            var state = DesiredState.FromJson(latest.DesiredJson);
            var problems = new Dictionary<string, string>(StringComparer.Ordinal);
            foreach (var service in state.Services)
            {
                try
                {
                    await _router.AddServiceAsync(service.Name, state.Endpoints.TryGetValue(service.Name, out var port) ? port : service.Http.Port, cancellationToken);
                }
                catch (EndpointBindException e)
                {
                    problems[service.Name] = e.Message;
                    Events.Record(service.Name, e.Message, warning: true);
                }
            }
            foreach (var (preview, port) in state.Endpoints.Where(e => state.Find(e.Key) is null))
            {
                await _router.AddServiceAsync(preview, port, cancellationToken);
            }
            Volatile.Write(ref _problems, problems);
            Volatile.Write(ref _state, state);
            LoadReleases(state);
            await _flagService.RecoverAsync(cancellationToken);
        }

        var records = _store.Instances();
        var adopted = await Task.WhenAll(records.Select(async record =>
        {
            if (StoreJournal.Launch(record) is { } launch && await _driver.AdoptAsync(launch, record.Pid, record.ProcessStartTime, record.StartedAt))
            {
                return true;
            }
            _store.RemoveInstance(record.Id);
            Events.Record(record.Id, $"was no longer running (pid {record.Pid}) when the control plane started", warning: true);
            return false;
        }));
        var usedDocker = State.Services.Any(s => s.RuntimeName == RuntimeKind.Docker) || records.Any(r => StoreJournal.Launch(r)?.RuntimeName == RuntimeKind.Docker);
        var strays = await _driver.StopStraysAsync(TimeSpan.FromSeconds(10), usedDocker);
        if (State.Services.Any(s => s.RuntimeName == RuntimeKind.Swarm))
        {
            await AttachSwarmAsync(cancellationToken);
        }
        if (State.Services.Any(s => s.RuntimeName == RuntimeKind.Kubernetes))
        {
            await AttachKubernetesAsync(cancellationToken);
        }
        if (strays.Count > 0)
        {
            Events.Record("control-plane", $"stopped {strays.Count} instance processes that no record knew (started just before a crash): {string.Join(", ", strays)}", warning: true);
        }
        Adoption = (clock.Elapsed, adopted.Count(a => a));
        // A function keeps what was left running until its demand says otherwise.
        var live = _driver.Observe().Where(i => i.State != InstanceState.Exited).GroupBy(i => i.Service).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        _functions.Adopt(State.Services.Where(s => s.Function is not null).ToDictionary(s => s.Name, s => live.GetValueOrDefault(s.Name), StringComparer.Ordinal));
        if (records.Count > 0)
        {
            Events.Record("control-plane", $"re-adopted {Adoption.Instances} of {records.Count} recorded instances in {clock.ElapsedMilliseconds} ms");
        }
        Publish();
    }

    /// <summary>Re-reads the swarm's services and tasks before the first pass; a manager away now is an event, and the instances stay as they run.</summary>
    private async Task AttachSwarmAsync(CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(TimeSpan.FromSeconds(15));
        try
        {
            await _driver.AttachSwarmAsync(bounded.Token);
            Events.Record("swarm", $"re-read the swarm: {_driver.Observe().Count(i => i.IsLive)} instances running there");
        }
        catch (Exception e) when (e is Runtime.Docker.DockerUnavailableException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Events.Record("swarm", $"cannot read the swarm at start: {(e is OperationCanceledException ? "the manager did not answer within 15 s" : e.Message)}; it is read again every second", warning: true);
        }
    }

    /// <summary>Re-reads this control plane's ReplicaSets and pods before the first pass; an API server away now is an event, and the pods stay as they run.</summary>
    private async Task AttachKubernetesAsync(CancellationToken cancellationToken)
    {
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(TimeSpan.FromSeconds(15));
        try
        {
            await _driver.AttachKubernetesAsync(bounded.Token);
            Events.Record("kubernetes", $"re-read the cluster: {_driver.Observe().Count(i => i.IsLive)} instances running there");
        }
        catch (Exception e) when (e is Runtime.Kubernetes.KubernetesApplyException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            Events.Record("kubernetes", $"cannot read the cluster at start: {(e is OperationCanceledException ? "the API server did not answer within 15 s" : e.Message)}; it is retried with back-off", warning: true);
        }
    }

    /// <summary>Hands the controller the desired state as it stands in the store now, with the releases in progress laid over it.</summary>
    private void Publish()
    {
        var composed = State.Compose(_store.ServiceOverrides(), _store.ZonesDown(), _functions.Counts);
        Volatile.Write(ref _composed, composed);
        _controller.SetDesired(_releases.Overlay(composed, _driver.Observe()));
    }

    /// <summary>
    /// Makes a spec the desired state: validates it, builds what changed, opens new endpoints, and
    /// records a new revision, all or nothing. Throws <see cref="SpecException"/>,
    /// <see cref="StaleRevisionException"/>, <see cref="ArtifactBuildException"/> or
    /// <see cref="ControlPlaneException"/> with nothing changed.
    /// </summary>
    public Task<ApplyResult> ApplyAsync(ApplyRequest request, Action<string>? progress = null, CancellationToken cancellationToken = default) =>
        ApplyAsync(SpecLoader.Parse(request.SpecYaml, request.SpecFile, request.Environment), request, progress, cancellationToken);

    /// <summary>Applies a spec built in memory (tests, benchmarks); its revision records a note instead of YAML.</summary>
    internal Task<ApplyResult> ApplyAsync(SystemSpec spec, string actor = "test", CancellationToken cancellationToken = default) =>
        ApplyAsync(spec, new ApplyRequest($"# spec '{spec.Name}' built in memory", spec.File, spec.Environment, null, actor), null, cancellationToken);

    /// <summary>Applies a spec already parsed (and overlaid: a federation's cluster), recording <paramref name="request"/>'s YAML as its text.</summary>
    internal async Task<ApplyResult> ApplyAsync(SystemSpec spec, ApplyRequest request, Action<string>? progress, CancellationToken cancellationToken)
    {
        if (spec.Clusters.Count > 0)
        {
            throw new ControlPlaneException($"spec '{spec.Name}' declares clusters ({string.Join(", ", spec.Clusters.Select(c => c.Name))}): one control plane runs one of them; apply it to a server ('flotilla server', then 'flotilla apply'), which runs one per cluster",
                ControlPlaneError.Invalid);
        }
        if (DataPlane is IRouterLimits limits && limits.Refuse(spec) is { } refusal)
        {
            throw new ControlPlaneException(refusal, ControlPlaneError.Invalid);
        }
        // A stale apply is refused before it builds anything.
        ThrowIfStale(request.BasedOn);
        // Builds take seconds: they run outside the lock, so that a release's abort or any other
        // change is not held up by another service's build. A build that fails changes nothing.
        var artifacts = new Dictionary<string, Artifact?>(StringComparer.Ordinal);
        foreach (var service in spec.Services)
        {
            progress?.Invoke($"{service.Name}: preparing artifact");
            artifacts[service.Name] = await _artifacts.EnsureAsync(service, m => progress?.Invoke($"{service.Name}: {m}"), cancellationToken);
            // A container image is built here too: as slow as a build, and as fatal to the apply when it fails.
            if (PreparesRuntime(spec.RuntimeName, service.Image, ClusterOverlay.Runs(service)))
            {
                await PrepareRuntimeAsync(spec.RuntimeName, service.Name, service.Image, artifacts[service.Name], progress, cancellationToken);
            }
        }
        // Databases are provisioned and migrated before the revision is recorded, so before any of its instances starts;
        // a migration that fails refuses the apply. Slow (a backfill): outside the lock, serialised by the database's own.
        var applying = spec;
        spec = await _databases.PrepareAsync(spec, $"{request.Actor} (apply)", progress, s => OlderRevisionsRunning(applying, s, artifacts[s.Name]), cancellationToken);
        await _changing.WaitAsync(cancellationToken);
        try
        {
            // Again under the lock: a revision may have been recorded while this apply built. Whatever
            // follows (endpoints, secrets, the summary, unchanged or not) is read from the state as it is now.
            ThrowIfStale(request.BasedOn);
            var endpoints = await OpenEndpointsAsync(spec, cancellationToken);
            var flagsPort = spec.Flags is null ? (int?)null : await _flagService.OpenAsync(spec.Flags, cancellationToken);
            var flagsUrl = flagsPort is { } port ? _flagService.UrlFor(port) : null;
            var state = new DesiredState(spec.Name, spec.Environment, spec.ZoneNames,
                spec.Services.Select(s => Describe(spec, s, artifacts[s.Name], endpoints, flagsUrl, SecretRefs(s))).ToList(), endpoints)
            {
                Flags = spec.Flags is null ? null : new FlagsState(spec.Flags.Document, flagsPort!.Value, spec.Flags.Strict, Keyed: true),
                Engines = spec.Engines,
                Databases = spec.Services.Any(s => s.Database is not null) ? spec.Services.Where(s => s.Database is not null).ToDictionary(s => s.Name, s => s.Database!, StringComparer.Ordinal) : null,
            };

            var previous = _store.LatestRevision();
            var json = state.ToJson();
            if (previous is not null && previous.DesiredJson == json && previous.SpecYaml == request.SpecYaml)
            {
                return new ApplyResult(previous, Unchanged: true) { Warnings = spec.Warnings };
            }
            // Held until the revision is recorded and made the desired state: see TenantAdmission.
            using var admitted = Admit(state, OverridesAfterApply());
            var summary = state.Summarize(State);
            var record = _store.AddRevision(request.BasedOn, request.Actor, spec.Environment, spec.File, request.SpecYaml, request.GitCommit, summary, json, _time.GetUtcNow(), auditNote: request.AuditNote);
            foreach (var gone in _router.Endpoints.Keys.Where(name => !endpoints.ContainsKey(name)).ToList())
            {
                await _router.RemoveServiceAsync(gone);
            }
            await MakeDesiredAsync(state, record, request.Actor, cancellationToken);
            Events.Record(spec.Name, $"revision {record.Number} applied by {request.Actor}{(request.GitCommit is null ? "" : $" from commit {request.GitCommit[..Math.Min(12, request.GitCommit.Length)]}")}: {summary}");
            if (spec.Warnings.Count > 0)
            {
                Events.Record(spec.Name, $"revision {record.Number} has {spec.Warnings.Count} warning{(spec.Warnings.Count == 1 ? "" : "s")} (served as flagd would; 'flotilla validate' lists them), first: {spec.Warnings[0]}", warning: true);
            }
            return new ApplyResult(record, Unchanged: false) { Warnings = spec.Warnings };
        }
        finally
        {
            _changing.Release();
        }
    }

    /// <summary>What the runtime needs before an instance of the service can start (a container image); refuses the apply when it cannot be had.</summary>
    private async Task PrepareRuntimeAsync(string runtime, string service, string? image, Artifact? artifact, Action<string>? progress, CancellationToken cancellationToken)
    {
        try
        {
            await _driver.PrepareAsync(runtime, image, artifact?.Directory, artifact?.Digest, m => progress?.Invoke($"{service}: {m}"), cancellationToken);
        }
        catch (Exception e) when (e is Runtime.Docker.DockerUnavailableException or Runtime.Kubernetes.KubernetesApplyException)
        {
            throw new ControlPlaneException($"service '{service}' (runtime {runtime}): {e.Message}", ControlPlaneError.Unavailable);
        }
    }

    /// <summary>Runs a change of state under the one lock of state changes (never a build or other slow work).</summary>
    private async Task<T> UnderLockAsync<T>(Func<CancellationToken, Task<T>> change, CancellationToken cancellationToken)
    {
        await _changing.WaitAsync(cancellationToken);
        try
        {
            return await change(cancellationToken);
        }
        finally
        {
            _changing.Release();
        }
    }

    /// <summary>Refuses an apply based on a revision that is no longer the latest.</summary>
    private void ThrowIfStale(long? basedOn)
    {
        var latest = _store.LatestRevisionNumber;
        if (basedOn is { } expected && expected != latest)
        {
            throw new StaleRevisionException(expected, latest);
        }
    }

    /// <summary>
    /// Makes a recorded revision's state the one the controllers and the router work to: the
    /// instance sets, and the flags (a runtime change of a flag the revision changes is superseded).
    /// </summary>
    private async Task MakeDesiredAsync(DesiredState state, RevisionRecord record, string actor, CancellationToken cancellationToken)
    {
        Volatile.Write(ref _problems, new Dictionary<string, string>());
        var before = State;
        Volatile.Write(ref _state, state);
        Engines.SetDesired(state.Engines ?? []);
        Publish();
        _flagService.DropSupersededChanges(before.Flags, state.Flags, record.Number, actor);
        await _flagService.PublishAsync(cancellationToken);
    }

    /// <summary>Opens the endpoint of every service of the spec; on a port that cannot be had, closes what it opened and refuses.</summary>
    private async Task<IReadOnlyDictionary<string, int>> OpenEndpointsAsync(SystemSpec spec, CancellationToken cancellationToken)
    {
        var before = _router.Endpoints;
        var opened = new HashSet<string>(StringComparer.Ordinal);
        var endpoints = new SortedDictionary<string, int>(StringComparer.Ordinal);
        try
        {
            foreach (var service in spec.Services)
            {
                if (before.TryGetValue(service.Name, out var port) && (service.Http.Port is null || service.Http.Port == port))
                {
                    endpoints[service.Name] = port;
                    continue;
                }
                if (before.ContainsKey(service.Name))
                {
                    // The fixed port changed: the old endpoint goes, the new one must open (else the old one comes back).
                    await _router.RemoveServiceAsync(service.Name);
                    opened.Add(service.Name);
                }
                endpoints[service.Name] = await _router.AddServiceAsync(service.Name, service.Http.Port, cancellationToken);
                opened.Add(service.Name);
            }
            foreach (var service in spec.Services.Where(s => s.Rollout is { Strategy: RolloutStrategy.BlueGreen, Preview: true }))
            {
                var name = RoutingTable.PreviewOf(service.Name);
                if (before.TryGetValue(name, out var port) && (service.Rollout.PreviewPort is null || service.Rollout.PreviewPort == port))
                {
                    endpoints[name] = port;
                    continue;
                }
                if (before.ContainsKey(name))
                {
                    await _router.RemoveServiceAsync(name);
                }
                endpoints[name] = await _router.AddServiceAsync(name, service.Rollout.PreviewPort, cancellationToken);
                opened.Add(name);
            }
            return endpoints;
        }
        catch (EndpointBindException e)
        {
            foreach (var name in opened)
            {
                await _router.RemoveServiceAsync(name);
                if (before.TryGetValue(name, out var port))
                {
                    await _router.AddServiceAsync(name, port, cancellationToken);
                }
            }
            throw new ControlPlaneException($"service '{e.Service}': {e.Message}", ControlPlaneError.Conflict);
        }
    }

    /// <summary>
    /// Stops supervising and leaves the data plane running (the default for a server: the next
    /// control plane adopts it). <see cref="StopDataPlaneAsync"/> first for a full shutdown.
    /// </summary>
    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await _rolloutStop.CancelAsync();
        await _rolloutLoop;
        await _gitOpsLoop;
        await _schedules.DisposeAsync();
        await _inboxes.DisposeAsync();
        await _queues.DisposeAsync();
        await _functions.DisposeAsync();
        await _controller.DisposeAsync();
        await Engines.DisposeAsync();
        if (!_stoppedDataPlane)
        {
            _driver.LeaveRunningOnDispose();
        }
        await _driver.DisposeAsync();
        await _router.DisposeAsync();
        if (Path.GetFullPath(_options.ArtifactsDirectory) == Path.GetFullPath(Path.Combine(_options.DataDirectory, "artifacts")))
        {
            // Only the owner of a build cache clears its unfinished builds (environments share the server's).
            Directories.TryDelete(Path.Combine(_options.ArtifactsDirectory, ".staging"));
        }
        if (_stoppedDataPlane)
        {
            Directories.TryDelete(Path.Combine(_options.DataDirectory, "instances"));
        }
        _store.Dispose();
        _changing.Dispose();
        _gitOpsSync.Dispose();
        _lock?.Dispose();
    }

    private bool _stoppedDataPlane;

    /// <summary>Takes every instance out of rotation, drains and stops it; then the router process, if there is one.</summary>
    public async Task StopDataPlaneAsync()
    {
        _stoppedDataPlane = true;
        await _rolloutStop.CancelAsync();
        await _rolloutLoop;
        await _gitOpsLoop;
        await _schedules.DisposeAsync();
        await _inboxes.DisposeAsync();
        await _queues.DisposeAsync();
        await _functions.DisposeAsync();
        await _controller.StopAllAsync();
        // After the instances (which use them); their data stays, for the next start.
        await Engines.StopAllAsync();
        if (DataPlane is RouterClient client)
        {
            client.StopProcessOnDispose();
        }
        else if (DataPlane is Router.HAProxy.HAProxyRouter haproxy)
        {
            haproxy.StopProcessOnDispose();
        }
    }

    /// <summary>
    /// Whether a service needs its runtime prepared (an image built or checked): not one without an image that a
    /// federation's Kubernetes cluster runs nothing of (instances: 0 there; ClusterOverlay.Runs), which it could not run.
    /// </summary>
    private static bool PreparesRuntime(string runtime, string? image, bool runs) => runs || image is not null || runtime != RuntimeKind.Kubernetes;
}
