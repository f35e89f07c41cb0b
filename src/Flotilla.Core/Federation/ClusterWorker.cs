using Flotilla.Artifacts;
using Flotilla.Hosting;
using Flotilla.Model;
using Flotilla.Runtime;
using Flotilla.Runtime.Docker;

namespace Flotilla.Federation;

/// <summary>
/// The level-triggered loop of one cluster: probe its engine, judge how it runs what it accepted,
/// ask the planner what comes next, and do it (hand it the revision, or wait for its back-off). One
/// loop per cluster, so a cluster whose engine hangs or whose apply is slow holds up no other.
/// </summary>
internal sealed class ClusterWorker : IAsyncDisposable
{
    private readonly Federation _owner;
    private readonly FederationOptions _options;
    private readonly TimeProvider _time;
    private readonly CancellationTokenSource _stop = new();
    private readonly WakeSignal _wake = new();
    private Task _loop = Task.CompletedTask;
    private DateTimeOffset _nextProbe = DateTimeOffset.MinValue;
    private string? _lastReason;

    public ClusterWorker(Federation owner, ClusterTarget cluster, ControlPlane plane, FederationOptions options, TimeProvider time)
    {
        _owner = owner;
        Cluster = cluster;
        Plane = plane;
        _options = options;
        _time = time;
    }

    /// <summary>The cluster's kind and engine (they never change under one name).</summary>
    public ClusterTarget Cluster { get; }

    public string Name => Cluster.Name;

    /// <summary>The control plane that runs this cluster: its store, router, controllers and runtime.</summary>
    public ControlPlane Plane { get; }

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token), CancellationToken.None);

    public void Wake() => _wake.Set();

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await LookAsync(cancellationToken);
                await _wake.WaitAsync(_options.Tick, cancellationToken);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                Record($"look at cluster '{Name}' failed: {e.GetType().Name}: {e.Message}", warning: true);
                await Task.Delay(_options.Tick, _time, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    private async Task LookAsync(CancellationToken cancellationToken)
    {
        if (_owner.Desired is not { } desired)
        {
            return;
        }
        var seen = await ProbeAsync(_owner.Observation(Name), cancellationToken);
        seen = Judge(seen, desired);
        _owner.Publish(seen);
        var step = FederationPlanner.Plan(desired, _owner.Observations(), _time.GetUtcNow()).Single(s => s.Cluster == Name);
        if (step.Action is ClusterAction.Hold or ClusterAction.Halted && step.Reason != _lastReason)
        {
            Record($"cluster '{Name}' {step.Reason}", warning: step.Action == ClusterAction.Halted);
        }
        _lastReason = step.Reason;
        if (step.Action == ClusterAction.Apply)
        {
            await ApplyAsync(desired, seen, cancellationToken);
        }
    }

    /// <summary>Asks the engine whether it answers: when due (every probe interval, or at the back-off of an unreachable one).</summary>
    private async Task<ClusterObservation> ProbeAsync(ClusterObservation seen, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        var due = seen.Reachable == false ? now >= (seen.RetryAt ?? now) : now >= _nextProbe;
        if (!due || seen.Applying)
        {
            return seen;
        }
        _nextProbe = now + _options.ProbeInterval;
        var cause = await ClusterProbe.UnreachableAsync(Cluster, _options.ProbeTimeout, cancellationToken);
        return cause is null ? Reached(seen) : Unreached(seen, cause);
    }

    private ClusterObservation Reached(ClusterObservation seen)
    {
        if (seen.Reachable == false)
        {
            Record($"cluster '{Name}' answers again (after {seen.Failures} failed tr{(seen.Failures == 1 ? "y" : "ies")})");
        }
        return seen with { Reachable = true, Cause = null, Failures = 0, RetryAt = null };
    }

    private ClusterObservation Unreached(ClusterObservation seen, string cause)
    {
        var failures = seen.Reachable == false ? seen.Failures + 1 : 1;
        var wait = FederationPlanner.Backoff(failures, _options.FirstBackoff, _options.MaxBackoff);
        if (seen.Reachable != false || seen.Cause != cause)
        {
            Record($"cluster '{Name}' cannot be reached: {cause}; the other clusters go on, this one is tried again with back-off (next in {wait.TotalSeconds:0.#} s)", warning: true);
        }
        return seen with { Reachable = false, Cause = cause, Failures = failures, RetryAt = _time.GetUtcNow() + wait };
    }

    /// <summary>How the cluster runs the revision it accepted; a failure is written down for good (a new apply tries again).</summary>
    private ClusterObservation Judge(ClusterObservation seen, FederationRevision desired)
    {
        var progress = seen.Progress;
        if (progress.Revision == 0)
        {
            return seen with { Health = ClusterHealth.Unknown, HealthDetail = null };
        }
        if (progress.Failed is { } failed)
        {
            return seen with { Health = ClusterHealth.Failed, HealthDetail = failed };
        }
        if (seen.Reachable == false)
        {
            // What runs there cannot be seen now: no verdict, and no deadline runs out on it.
            return seen with { HealthDetail = "unreachable: not judged" };
        }
        var (health, detail) = ClusterJudgement.Of(Plane, progress.AppliedAt, desired.Deadline, _time.GetUtcNow());
        if (health == ClusterHealth.Failed)
        {
            progress = progress with { Failed = detail };
            _owner.SaveProgress(progress);
            Record($"cluster '{Name}' failed revision {progress.Revision}: {detail}", warning: true);
        }
        else if (health == ClusterHealth.Healthy && seen.Health != ClusterHealth.Healthy)
        {
            Record($"cluster '{Name}' runs revision {progress.Revision} ready");
        }
        return seen with { Progress = progress, Health = health, HealthDetail = detail };
    }

    private async Task ApplyAsync(FederationRevision desired, ClusterObservation seen, CancellationToken cancellationToken)
    {
        if (_owner.SpecOf(Name) is not { } spec)
        {
            return;
        }
        _owner.Publish(seen with { Applying = true });
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(_options.ApplyTimeout);
        var request = new ApplyRequest(desired.SpecYaml, desired.SpecFile, desired.Environment, null, desired.Actor, desired.GitCommit,
            $"federation revision {desired.Number}, cluster {Name}");
        try
        {
            var result = await Plane.ApplyAsync(spec, request, null, bounded.Token);
            // The apply, not the probe, may be what finds an unreachable cluster back (its retry fell due between the two): said all the same.
            seen = Reached(seen);
            var progress = new ClusterProgress(Name, desired.Number, result.Revision.Number, _time.GetUtcNow());
            _owner.SaveProgress(progress);
            Record($"cluster '{Name}' got revision {desired.Number} (its own revision {result.Revision.Number}{(result.Unchanged ? ", unchanged" : "")})");
            seen = seen with { Progress = progress, Health = ClusterHealth.Progressing, HealthDetail = null };
        }
        catch (Exception e) when (e is ControlPlaneException { Kind: ControlPlaneError.Unavailable } or DockerUnavailableException
            // An engine client connected before the engine went away fails with the transport's own exception.
            or HttpRequestException or IOException or System.Net.Sockets.SocketException or TimeoutException
            || e is OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            var cause = e is OperationCanceledException ? $"its apply did not finish within {_options.ApplyTimeout.TotalSeconds:0} s"
                : e is ControlPlaneException or DockerUnavailableException ? e.Message : $"its engine failed during the apply: {e.GetType().Name}: {e.InnerException?.Message ?? e.Message}";
            seen = Unreached(seen, cause);
        }
        catch (Exception e) when (e is ControlPlaneException or SpecException or ArtifactBuildException or Store.StaleRevisionException)
        {
            // Refused is answered: a cluster marked unreachable is back.
            seen = Reached(seen);
            var progress = new ClusterProgress(Name, desired.Number, seen.Progress.PlaneRevision, _time.GetUtcNow(), $"apply refused: {e.Message}");
            _owner.SaveProgress(progress);
            Record($"cluster '{Name}' refused revision {desired.Number}: {e.Message}", warning: true);
            seen = seen with { Progress = progress, Health = ClusterHealth.Failed, HealthDetail = progress.Failed };
        }
        finally
        {
            _owner.Publish(seen with { Applying = false });
            _owner.WakeAll();
        }
    }

    /// <summary>An event in the federation's log and in the cluster's own (persisted with its store).</summary>
    private void Record(string message, bool warning = false)
    {
        _owner.Events.Record(Name, message, warning);
        Plane.Events.Record("federation", message, warning);
    }

    private int _disposed;

    public async ValueTask DisposeAsync()
    {
        if (Interlocked.Exchange(ref _disposed, 1) == 1)
        {
            return;
        }
        await _stop.CancelAsync();
        await _loop;
        _stop.Dispose();
    }
}
