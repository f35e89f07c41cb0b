using Flotilla.Controllers.InstanceSets;
using Flotilla.Events;
using Flotilla.Model;
using Flotilla.Router;
using Flotilla.Router.Metrics;
using Flotilla.Router.Mirror;
using Flotilla.Runtime;

namespace Flotilla.Controllers.Rollouts;

/// <summary>
/// Canary, blue-green and parallel releases: which revisions of a service run side by side, how many
/// instances each keeps, and how the router splits traffic between them. Each look (every
/// 250 ms) moves a release on by its steps, pauses and analyses; an overlay turns the releases
/// into the desired state the instance-set controller and the router act on. Every state change
/// is persisted (<paramref name="persist"/>) before it is published.
/// </summary>
/// <param name="findRevision">The desired state a service had in an earlier revision (from the store's history).</param>
public sealed partial class ReleaseController(Func<string, string, DesiredService?> findRevision, Action<ReleaseState> persist, EventLog events, TimeProvider time)
{
    private readonly Lock _gate = new();
    private readonly Dictionary<string, ReleaseState> _states = new(StringComparer.Ordinal);
    private readonly Dictionary<string, AnalysisRun> _runs = new(StringComparer.Ordinal);
    private readonly Dictionary<string, (MetricsWindow Canary, MetricsWindow Stable)> _live = new(StringComparer.Ordinal);
    private readonly Dictionary<string, ParallelReport> _parallel = new(StringComparer.Ordinal);

    public void Load(IEnumerable<ReleaseState> states)
    {
        lock (_gate)
        {
            foreach (var state in states)
            {
                _states[state.Service] = state;
            }
        }
    }

    public ReleaseState? Get(string service)
    {
        lock (_gate)
        {
            return _states.GetValueOrDefault(service);
        }
    }

    /// <summary>
    /// The desired services with each release applied: counts of both sides, the traffic split,
    /// the preview endpoint. A service whose revision changed starts its release here, in the
    /// same publish, so not one pass runs it as a rolling update.
    /// </summary>
    public IReadOnlyList<DesiredService> Overlay(IReadOnlyList<DesiredService> composed, IReadOnlyList<InstanceStatus> observed)
    {
        lock (_gate)
        {
            return composed.Select(service =>
            {
                if (!service.RolloutOrDefault.IsProgressive)
                {
                    _states.Remove(service.Name);
                    return service;
                }
                var state = _states.GetValueOrDefault(service.Name);
                if (state is null || state.Target != service.Revision)
                {
                    state = Begin(service, state, observed);
                }
                return state.IsActive ? ReleasePlanner.Desired(service, state) : service;
            }).ToList();
        }
    }

    private ReleaseState Begin(DesiredService service, ReleaseState? prior, IReadOnlyList<InstanceStatus> observed)
    {
        var now = time.GetUtcNow();
        var stable = prior switch
        {
            null => observed.Where(i => i.Service == service.Name && i.IsLive && i.Revision != service.Revision)
                .GroupBy(i => i.Revision).MaxBy(g => g.Count())?.Key,
            { Phase: ReleasePhase.Complete } => prior.Target,
            { Strategy: RolloutStrategy.BlueGreen, SwitchedAt: not null, Phase: not ReleasePhase.Aborted } => prior.Target,
            _ => prior.Stable,
        };
        var targetSpec = service with { Stable = null, Traffic = null, Preview = false };
        ReleaseState Done(string why)
        {
            var done = new ReleaseState(service.Name, service.RolloutOrDefault.Strategy, service.Revision, service.Revision, targetSpec, null, ReleasePhase.Complete, 0, now, 100, why);
            Save(done, $"revision {service.Revision}: {why}");
            return done;
        }
        if (stable is null)
        {
            return Done("no earlier revision runs: started at full size");
        }
        // Back to what ran before this release (an undo, an abandoned canary): its instances are warm, so no steps.
        if (stable == service.Revision || prior?.Stable == service.Revision)
        {
            return Done($"back to revision {service.Revision}, which was stable before: steps skipped");
        }
        var stableSpec = prior?.Stable == stable && prior.StableSpec is not null ? prior.StableSpec
            : prior?.Target == stable && prior.TargetSpec is not null ? prior.TargetSpec
            : findRevision(service.Name, stable);
        if (stableSpec is null)
        {
            events.Record(service.Name, $"stable revision {stable} is no longer in the history: rolling update instead of a {service.RolloutOrDefault.Strategy}", warning: true);
            return Done("stable revision unknown: rolling update");
        }
        var state = new ReleaseState(service.Name, service.RolloutOrDefault.Strategy, service.Revision, stable, targetSpec, stableSpec with { Stable = null, Traffic = null, Preview = false },
            ReleasePhase.Progressing, 0, now, 0);
        _runs.Remove(service.Name);
        _live[service.Name] = (new MetricsWindow(), new MetricsWindow());
        Save(state, $"{ReleaseState.Kind(state.Strategy)} of revision {service.Revision} begins (stable: {stable})");
        return state;
    }

    /// <summary>One look at every release; true when one changed (the caller publishes).</summary>
    /// <param name="reports">The router's report of a service's parallel run.</param>
    public async Task<bool> TickAsync(IReadOnlyList<DesiredService> composed, IReadOnlyList<InstanceStatus> observed, IReadOnlyList<RevisionInterval> intervals,
        Func<string, Task<ParallelReport?>> reports, CancellationToken cancellationToken)
    {
        var changed = false;
        foreach (var service in composed.Where(s => s.RolloutOrDefault.IsProgressive))
        {
            ReleaseState? state;
            lock (_gate)
            {
                state = _states.GetValueOrDefault(service.Name);
                if (state is null || state.Target != service.Revision || !state.IsActive)
                {
                    continue;
                }
                _runs.GetValueOrDefault(service.Name)?.Add(intervals);
                if (_live.TryGetValue(service.Name, out var live))
                {
                    foreach (var interval in intervals.Where(i => i.Service == service.Name))
                    {
                        (interval.Revision == state.Target ? live.Canary : interval.Revision == state.Stable ? live.Stable : null)?.Add(interval);
                    }
                }
            }
            var next = await LookAsync(state, service.RolloutOrDefault, ReleaseSides.Of(state, service.Instances, observed), reports, cancellationToken);
            lock (_gate)
            {
                // An intent (promote, abort) or a new apply that came meanwhile wins over this look.
                if (next != state && ReferenceEquals(_states.GetValueOrDefault(service.Name), state))
                {
                    Save(next, null);
                    changed = true;
                }
            }
        }
        return changed;
    }

    /// <summary>
    /// One look at one release: the planner decides; what it asks to have measured is measured here
    /// (the step's analysis ticked, the router asked for its parallel-run report), and with that
    /// the planner decides again. Its messages go to the event log.
    /// </summary>
    private async Task<ReleaseState> LookAsync(ReleaseState state, RolloutSpec rollout, ReleaseSides sides, Func<string, Task<ParallelReport?>> reports, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var plan = ReleasePlanner.Plan(state, rollout, sides, ReleaseEvidence.None, now);
        if (plan.Analyse is { } analyse && await MeasureAsync(state, analyse, now, cancellationToken) is { } verdict)
        {
            plan = ReleasePlanner.Plan(state, rollout, sides, new ReleaseEvidence(Verdict: verdict), now);
        }
        else if (plan.ReadReport is { } read && await reports(state.Service) is { } report && report.Candidate == state.Target && report.Run == read.Run)
        {
            lock (_gate)
            {
                _parallel[state.Service] = report;
            }
            plan = ReleasePlanner.Plan(state, rollout, sides, new ReleaseEvidence(Report: report), now);
        }
        Record(state.Service, plan.Messages);
        return plan.Next;
    }

    /// <summary>Ticks the release's analysis, started now if it has none; its report once it has a verdict, else null.</summary>
    private async Task<AnalysisReport?> MeasureAsync(ReleaseState state, AnalysisRequest request, DateTimeOffset now, CancellationToken cancellationToken)
    {
        AnalysisRun run;
        lock (_gate)
        {
            if (!_runs.TryGetValue(state.Service, out run!))
            {
                run = new AnalysisRun(request.Name, request.Spec, state.Service, state.Target, request.Against, now);
                _runs[state.Service] = run;
            }
        }
        if (await run.TickAsync(now, cancellationToken) == AnalysisPhase.Running)
        {
            return null;
        }
        lock (_gate)
        {
            _runs.Remove(state.Service);
        }
        return run.Report();
    }

    private void Record(string service, IReadOnlyList<ReleaseMessage> messages)
    {
        foreach (var message in messages)
        {
            events.Record(service, message.Text, message.Warning);
        }
    }

    /// <summary>Persists and keeps a state (under the gate).</summary>
    private void Save(ReleaseState state, string? message)
    {
        persist(state);
        _states[state.Service] = state;
        if (message is not null)
        {
            events.Record(state.Service, message);
        }
    }

}
