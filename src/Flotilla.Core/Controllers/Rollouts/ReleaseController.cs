using Flotilla.Controllers.InstanceSets;
using Flotilla.Events;
using Flotilla.Model;
using Flotilla.Router.Metrics;
using Flotilla.Router.Mirror;
using Flotilla.Runtime;

namespace Flotilla.Controllers.Rollouts;

/// <summary>
/// Canary, blue-green and parallel releases: which revisions of a service run side by side, how many
/// instances each keeps, and how the router splits traffic between them. The decisions are
/// <see cref="ReleasePlanner"/>'s; this shell keeps the states, gathers what the planner needs
/// (ready counts, analysis verdicts, the router's parallel-run reports, the time), and records
/// what it decided. Each look (every 250 ms) moves a release on by its steps, pauses and analyses;
/// an overlay turns the releases into the desired state the instance-set controller and the router
/// act on; operators promote, abort and retry. Every state change is persisted
/// (<paramref name="persist"/>) before it is published.
/// </summary>
/// <param name="findRevision">The desired state a service had in an earlier revision (from the store's history).</param>
public sealed class ReleaseController(Func<string, string, DesiredService?> findRevision, Action<ReleaseState> persist, EventLog events, TimeProvider time)
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
        var plan = ReleasePlanner.Begin(service, prior, observed, findRevision, time.GetUtcNow());
        if (plan.Next.IsActive)
        {
            _runs.Remove(service.Name);
            _live[service.Name] = (new MetricsWindow(), new MetricsWindow());
        }
        Save(plan.Next, null);
        Record(service.Name, plan.Messages);
        return plan.Next;
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

    /// <summary>
    /// Promote: the next step (skipping a pause or a running analysis), or with <paramref name="full"/>
    /// straight to all traffic on the new revision. Blue-green: switch now. Throws
    /// <see cref="InvalidOperationException"/> with what to do instead when there is nothing to promote.
    /// </summary>
    public ReleaseState Promote(string service, bool full, string actor) => Change(service, $"promote{(full ? " --full" : "")}", actor, state =>
    {
        _runs.Remove(service);
        var plan = ReleasePlanner.Promote(state, full, time.GetUtcNow());
        Record(service, plan.Messages);
        return plan.Next;
    });

    /// <summary>Aborts by hand; <paramref name="desired"/> and <paramref name="observed"/> tell how much of the traffic the stable side can take now.</summary>
    public ReleaseState Abort(string service, string actor, int desired, IReadOnlyList<InstanceStatus> observed) => Change(service, "abort", actor, state =>
    {
        _runs.Remove(service);
        return ReleasePlanner.Abort(state, actor, ReleaseSides.Of(state, desired, observed));
    });

    public ReleaseState Retry(string service, string actor) => Change(service, "retry", actor, state => ReleasePlanner.Retry(state, time.GetUtcNow()));

    private ReleaseState Change(string service, string verb, string actor, Func<ReleaseState, ReleaseState> change)
    {
        lock (_gate)
        {
            var state = _states.GetValueOrDefault(service);
            if (state is null || !state.IsActive && verb != "retry")
            {
                throw new InvalidOperationException(state is null
                    ? $"service '{service}' has no canary or blue-green release (rollout.strategy is rolling, or nothing was applied since)"
                    : $"the release of revision {state.Target} is complete; there is nothing to {verb.Split(' ')[0]}");
            }
            var next = change(state);
            Save(next, $"{verb} by {actor}: {Describe(next)}");
            if (next.Phase == ReleasePhase.Progressing && next.Step == 0)
            {
                _live[service] = (new MetricsWindow(), new MetricsWindow());
            }
            return next;
        }
    }

    /// <summary>The release of a service as status shows it, or null for a service without one.</summary>
    public ReleaseStatus? Status(string service, RolloutSpec rollout)
    {
        lock (_gate)
        {
            if (_states.GetValueOrDefault(service) is not { } state || !rollout.IsProgressive)
            {
                return null;
            }
            var live = _live.GetValueOrDefault(service);
            var steps = state.Strategy == RolloutStrategy.Canary ? rollout.Steps.Count : 2;
            return new ReleaseStatus(state.Strategy, state.Phase, state.Target, state.Stable, state.Weight, state.Step, steps, StepText(state, rollout), state.ShownReason, state.IsDegraded,
                (live.Canary ?? new MetricsWindow()).Summary(), (live.Stable ?? new MetricsWindow()).Summary(), _runs.GetValueOrDefault(service)?.Report(), state.Analyses ?? [])
            {
                Parallel = _parallel.GetValueOrDefault(service) is { } report && report.Candidate == state.Target ? report : null,
            };
        }
    }

    private static string StepText(ReleaseState state, RolloutSpec rollout) => state.Strategy switch
    {
        _ when state.Phase is ReleasePhase.Complete or ReleasePhase.Aborted or ReleasePhase.Promoting => state.Phase.ToString().ToLowerInvariant(),
        RolloutStrategy.Canary => state.Step < rollout.Steps.Count ? $"step {state.Step + 1} of {rollout.Steps.Count}: {rollout.Steps[state.Step]}" : "steps done",
        RolloutStrategy.Parallel => state.Step == 0 ? "starting the candidate (no user traffic)" : $"comparing mirrored requests for {Quantities.Format(rollout.Parallel.Duration)}",
        _ => state.SwitchedAt is null ? "before the switch (no live traffic)" : "switched; old colour warm for the scale-down delay",
    };

    private static string Describe(ReleaseState state) => $"{state.Phase.ToString().ToLowerInvariant()}, {state.Weight}% on revision {state.Target}";
}
