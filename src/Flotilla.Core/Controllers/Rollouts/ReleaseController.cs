using Flotilla.Controllers.InstanceSets;
using Flotilla.Events;
using Flotilla.Model;
using Flotilla.Router;
using Flotilla.Router.Metrics;
using Flotilla.Router.Mirror;
using Flotilla.Runtime;

namespace Flotilla.Controllers.Rollouts;

/// <summary>
/// Canary and blue-green releases: which two revisions of a service run side by side, how many
/// instances each keeps, and how the router splits traffic between them. Each look (every
/// 250 ms) moves a release on by its steps, pauses and analyses; an overlay turns the releases
/// into the desired state the instance-set controller and the router act on. Every state change
/// is persisted (<paramref name="persist"/>) before it is published.
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
                return state.IsActive ? Apply(service, state) : service;
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
        Save(state, $"{Describe(state.Strategy)} of revision {service.Revision} begins (stable: {stable})");
        return state;
    }

    private static DesiredService Apply(DesiredService service, ReleaseState state)
    {
        var rollout = service.RolloutOrDefault;
        var n = service.Instances;
        var canary = CanaryCount(n, state.Weight);
        var (target, stable) = (state.Strategy, state.Phase) switch
        {
            (RolloutStrategy.BlueGreen or RolloutStrategy.Parallel, ReleasePhase.Aborted) => (0, n),
            (RolloutStrategy.BlueGreen or RolloutStrategy.Parallel, _) => (n, n),
            (_, ReleasePhase.Aborted) => (state.Weight > 0 ? canary : 0, n),
            (_, ReleasePhase.Promoting) => (n, rollout.DynamicStableScale ? n - canary : n),
            _ => (canary, rollout.DynamicStableScale ? n - canary : n),
        };
        var baseline = BaselineActive(state, rollout) ? state.StableSpec! with { Revision = BaselineOf(state.Stable), Instances = canary, Zones = service.Zones } : null;
        var split = state.Strategy == RolloutStrategy.Canary
            ? new TrafficSplit(state.Target, state.Weight, rollout.Match, rollout.StickyHeader, baseline?.Revision)
            : new TrafficSplit(state.Target, state.Weight);
        return service with
        {
            Instances = target,
            Stable = state.StableSpec! with { Instances = stable, Zones = service.Zones },
            Baseline = baseline,
            Traffic = split,
            Preview = state.Strategy == RolloutStrategy.BlueGreen && rollout.Preview && state.SwitchedAt is null && state.Phase != ReleasePhase.Aborted,
            Mirror = state switch
            {
                { Strategy: RolloutStrategy.Parallel, Step: 1, Phase: ReleasePhase.Progressing or ReleasePhase.Paused } => MirrorOf(state, rollout.Parallel),
                { Strategy: RolloutStrategy.Canary, Phase: ReleasePhase.Progressing or ReleasePhase.Paused } when rollout.Steps.ElementAtOrDefault(state.Step)?.Parallel is { } step => MirrorOf(state, step),
                _ => null,
            },
        };
    }

    /// <summary>The router's side of a parallel run; the run id is when comparing began, so a retry starts a new report.</summary>
    private static MirrorPolicy MirrorOf(ReleaseState state, ParallelSpec spec) =>
        new(state.Target, spec.Sample, spec.Methods, spec.MaxBodyBytes, spec.Headers, spec.Ignore, spec.ArraysAsSets,
            state.StepStartedAt.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The revision label of a baseline: the stable revision's code and config, counted apart by the router.</summary>
    public static string BaselineOf(string stable) => $"{stable}-baseline";

    /// <summary>True while a canary's current step is an analysis against a fresh baseline.</summary>
    private static bool BaselineActive(ReleaseState state, RolloutSpec rollout) =>
        state is { Strategy: RolloutStrategy.Canary, Phase: ReleasePhase.Progressing, Weight: > 0 and < 100 }
        && rollout.Steps.ElementAtOrDefault(state.Step)?.Analysis is { Baseline: true };

    /// <summary>Instances of the canary for a weight: its share of the desired count, at least one while it runs.</summary>
    public static int CanaryCount(int instances, int weight) =>
        instances == 0 ? 0 : Math.Clamp((int)Math.Ceiling(instances * weight / 100.0), 1, instances);

    /// <summary>One look at every release; true when one changed (the caller publishes).</summary>
    /// <param name="reports">The router's report of a service's parallel run.</param>
    public async Task<bool> TickAsync(IReadOnlyList<DesiredService> composed, IReadOnlyList<InstanceStatus> observed, IReadOnlyList<RevisionInterval> intervals,
        Func<string, Task<ParallelReport?>> reports, CancellationToken cancellationToken)
    {
        var changed = false;
        foreach (var service in composed.Where(s => s.RolloutOrDefault.IsProgressive))
        {
            ReleaseState? state;
            AnalysisRun? run;
            lock (_gate)
            {
                state = _states.GetValueOrDefault(service.Name);
                if (state is null || state.Target != service.Revision || !state.IsActive)
                {
                    continue;
                }
                run = _runs.GetValueOrDefault(service.Name);
                run?.Add(intervals);
                if (_live.TryGetValue(service.Name, out var live))
                {
                    foreach (var interval in intervals.Where(i => i.Service == service.Name))
                    {
                        (interval.Revision == state.Target ? live.Canary : interval.Revision == state.Stable ? live.Stable : null)?.Add(interval);
                    }
                }
            }
            var ready = observed.Where(i => i.Service == service.Name && i.InRotation && i.State != InstanceState.Stopping).ToList();
            var side = new Sides(service.Instances, ready.Count(i => i.Revision == state.Target), ready.Count(i => i.Revision == state.Stable),
                ready.Count(i => i.Revision == BaselineOf(state.Stable)));
            var next = state.Strategy switch
            {
                RolloutStrategy.Canary => await AdvanceCanaryAsync(service, state, side, reports, cancellationToken),
                RolloutStrategy.Parallel => await AdvanceParallelAsync(service, state, side, reports),
                _ => await AdvanceBlueGreenAsync(service, state, side, cancellationToken),
            };
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

    /// <summary>The desired instance count and how many of each side are ready now.</summary>
    private readonly record struct Sides(int Desired, int TargetReady, int StableReady, int BaselineReady = 0);

    private async Task<ReleaseState> AdvanceCanaryAsync(DesiredService service, ReleaseState state, Sides sides, Func<string, Task<ParallelReport?>> reports, CancellationToken cancellationToken)
    {
        var rollout = service.RolloutOrDefault;
        var now = time.GetUtcNow();
        switch (state.Phase)
        {
            case ReleasePhase.Aborted:
                return BackOntoStable(state, sides);
            case ReleasePhase.Promoting:
                return sides.TargetReady >= sides.Desired
                    ? Say(state with { Phase = ReleasePhase.Complete, Weight = 100, Reason = null }, $"promoted: all traffic on revision {state.Target}")
                    : Stalled(service, state, sides, now) ?? state;
            case ReleasePhase.Paused:
                return rollout.Steps.ElementAtOrDefault(state.Step)?.Pause?.Duration is { } pause && now - state.StepStartedAt >= pause ? Next(state, now) : state;
        }
        if (state.Step >= rollout.Steps.Count)
        {
            return Say(state with { Phase = ReleasePhase.Promoting, Reason = null }, $"steps done: scaling revision {state.Target} to {sides.Desired} before it takes all traffic");
        }
        var step = rollout.Steps[state.Step];
        if (step.Weight is { } weight)
        {
            if (state.Weight != weight)
            {
                return Say(state with { Weight = weight }, $"canary at {weight}% of traffic (step {state.Step + 1} of {rollout.Steps.Count})");
            }
            return sides.TargetReady >= CanaryCount(sides.Desired, weight) ? Next(state, now) : Stalled(service, state, sides, now) ?? state;
        }
        if (step.Parallel is { } mirror)
        {
            return await JudgeParallelAsync(service.Name, state, mirror, sides, reports, passed => Next(passed, now));
        }
        if (step.Pause is { } p)
        {
            return p.Duration is null
                ? Say(state with { Phase = ReleasePhase.Paused, Reason = $"paused at step {state.Step + 1} until promoted (flotilla rollout promote {service.Name})" }, $"paused at step {state.Step + 1} until promoted")
                : now - state.StepStartedAt >= p.Duration ? Next(state, now) : state;
        }
        if (step.Analysis!.Baseline && sides.BaselineReady < CanaryCount(sides.Desired, state.Weight))
        {
            // The baseline's fresh instances must be serving before its first interval starts.
            return Stalled(service, state, sides, now) ?? state;
        }
        return await AnalyseAsync(state, $"step {state.Step + 1} analysis", step.Analysis, sides, now, passed => Next(passed, now), cancellationToken);
    }

    private async Task<ReleaseState> AdvanceBlueGreenAsync(DesiredService service, ReleaseState state, Sides sides, CancellationToken cancellationToken)
    {
        var rollout = service.RolloutOrDefault;
        var now = time.GetUtcNow();
        if (state.Phase == ReleasePhase.Aborted)
        {
            return BackOntoStable(state, sides);
        }
        if (state.SwitchedAt is not { } switchedAt)
        {
            if (state.Phase == ReleasePhase.Paused)
            {
                return state;
            }
            if (sides.TargetReady < sides.Desired)
            {
                return Stalled(service, state, sides, now) ?? state;
            }
            if (rollout.PrePromotionAnalysis is { } pre && !state.SkipAnalysis && state.Analyses?.Any(a => a.Name == "prePromotionAnalysis") != true)
            {
                return await AnalyseAsync(state, "prePromotionAnalysis", pre, sides, now, passed => passed, cancellationToken);
            }
            return rollout.AutoPromote ? Switch(state, now)
                : Say(state with { Phase = ReleasePhase.Paused, Reason = $"revision {state.Target} is ready{(rollout.Preview ? " on the preview endpoint" : "")}; waiting for flotilla rollout promote {service.Name}" },
                    $"revision {state.Target} ready at full size with no live traffic: waiting for promote");
        }
        if (state.Phase == ReleasePhase.Paused)
        {
            return state;
        }
        if (rollout.PostPromotionAnalysis is { } post && !state.SkipAnalysis && state.Analyses?.Any(a => a.Name == "postPromotionAnalysis") != true)
        {
            return await AnalyseAsync(state, "postPromotionAnalysis", post, sides, now, passed => passed, cancellationToken);
        }
        return now - switchedAt >= rollout.ScaleDownDelay
            ? Say(state with { Phase = ReleasePhase.Complete, Reason = null }, $"scale-down delay over: revision {state.Stable} (the old colour) scaled down")
            : state;
    }

    /// <summary>
    /// A parallel run: the candidate at full size with no user traffic (step 0), then copies of
    /// live requests compared for the duration or request count (step 1), then the gate: the
    /// mismatch rate promotes or aborts; too few comparisons pause.
    /// </summary>
    private async Task<ReleaseState> AdvanceParallelAsync(DesiredService service, ReleaseState state, Sides sides, Func<string, Task<ParallelReport?>> reports)
    {
        var spec = service.RolloutOrDefault.Parallel;
        var now = time.GetUtcNow();
        if (state.Phase == ReleasePhase.Aborted)
        {
            return BackOntoStable(state, sides);
        }
        if (state.Step == 0)
        {
            return sides.TargetReady >= sides.Desired
                ? Say(state with { Step = 1, StepStartedAt = now }, $"parallel run: revision {state.Target} ready; {spec.Sample}% of {string.Join("/", spec.Methods)} requests are mirrored to it and compared")
                : Stalled(service, state, sides, now) ?? state;
        }
        return await JudgeParallelAsync(service.Name, state, spec, sides, reports,
            passed => spec.AutoPromote
                ? Say(passed with { Phase = ReleasePhase.Complete, Weight = 100, Reason = null }, $"all traffic on revision {state.Target}")
                : Say(passed with { Phase = ReleasePhase.Paused, Reason = $"parallel run passed; waiting for flotilla rollout promote {service.Name}" }, "waiting for promote"));
    }

    /// <summary>
    /// The gate of a parallel run (the strategy, or a canary's parallel step): once the duration
    /// or request count is reached, the mismatch rate passes (<paramref name="onPass"/>), aborts,
    /// or with too few comparisons pauses.
    /// </summary>
    private async Task<ReleaseState> JudgeParallelAsync(string service, ReleaseState state, ParallelSpec spec, Sides sides, Func<string, Task<ParallelReport?>> reports, Func<ReleaseState, ReleaseState> onPass)
    {
        var now = time.GetUtcNow();
        var report = await reports(service);
        var run = MirrorOf(state, spec).Run;
        if (report is null || report.Candidate != state.Target || report.Run != run)
        {
            return state;
        }
        lock (_gate)
        {
            _parallel[service] = report;
        }
        if (state.Phase == ReleasePhase.Paused || now - state.StepStartedAt < spec.Duration && (spec.Requests is null || report.Compared < spec.Requests))
        {
            return state;
        }
        var summary = $"{report.Mismatches} of {report.Compared} compared requests differ ({report.MismatchRate:0.##}%, limit {spec.MaxMismatchRate}%)"
            + (report.Fields.Count > 0 ? $"; most: {report.Fields[0].Field} ({report.Fields[0].Count})" : "");
        if (report.Compared < spec.MinRequests)
        {
            return Say(state with { Phase = ReleasePhase.Paused, Reason = $"parallel run inconclusive: {report.Compared} requests compared, fewer than minRequests {spec.MinRequests}; promote or abort" },
                $"parallel run inconclusive: {report.Compared} requests compared", warning: true);
        }
        if (report.MismatchRate > spec.MaxMismatchRate)
        {
            return Abort(state, $"parallel run: {summary}", sides);
        }
        return onPass(Say(state, $"parallel run passed: {summary}"));
    }

    /// <summary>Runs (or goes on running) an analysis; its verdict moves the release on, aborts it, or pauses it.</summary>
    private async Task<ReleaseState> AnalyseAsync(ReleaseState state, string name, AnalysisSpec spec, Sides sides, DateTimeOffset now, Func<ReleaseState, ReleaseState> onPass, CancellationToken cancellationToken)
    {
        AnalysisRun run;
        lock (_gate)
        {
            if (!_runs.TryGetValue(state.Service, out run!))
            {
                run = new AnalysisRun(name, spec, state.Service, state.Target, spec.Baseline ? BaselineOf(state.Stable) : state.Stable, now);
                _runs[state.Service] = run;
            }
        }
        var phase = await run.TickAsync(now, cancellationToken);
        if (phase == AnalysisPhase.Running)
        {
            return state;
        }
        lock (_gate)
        {
            _runs.Remove(state.Service);
        }
        var judged = state.WithAnalysis(run.Report());
        return phase switch
        {
            AnalysisPhase.Successful => onPass(Say(judged, $"{name} passed ({run.Report().Measurements.Count} measurements)")),
            AnalysisPhase.Failed => Abort(judged, run.Reason!, sides),
            _ => Say(judged with { Phase = ReleasePhase.Paused, Reason = $"{run.Reason}; not promoting on too little data: promote or abort" }, run.Reason!, warning: true),
        };
    }

    /// <summary>Aborts: all traffic back to the stable revision in this very change if it has the capacity, else as its ready instances allow.</summary>
    private ReleaseState Abort(ReleaseState state, string reason, Sides sides)
    {
        var aborted = BackOntoStable(state with { Phase = ReleasePhase.Aborted, Reason = reason }, sides);
        return Say(aborted, $"aborted: {reason}; {(aborted.Weight == 0 ? "all" : $"{100 - aborted.Weight}% of")} traffic back on stable revision {state.Stable}", warning: true);
    }

    /// <summary>After an abort: the canary's share shrinks as stable instances become ready; 0 once the stable side is at full size.</summary>
    private static ReleaseState BackOntoStable(ReleaseState state, Sides sides)
    {
        var weight = sides.StableReady >= sides.Desired || state.Weight == 0 ? 0
            : Math.Min(state.Weight, (int)Math.Ceiling(100.0 * (sides.Desired - sides.StableReady) / sides.Desired));
        var capacity = weight == 0 ? null : $"capacity-bound: {sides.StableReady} of {sides.Desired} stable instances ready, {weight}% still on the canary";
        var reason = state.Reason?.Split(" [capacity-bound")[0] + (capacity is null ? "" : $" [{capacity}]");
        return weight == state.Weight && reason == state.Reason ? state : state with { Weight = weight, Reason = reason };
    }

    /// <summary>Aborts a release whose new instances do not become ready within the progress deadline.</summary>
    private ReleaseState? Stalled(DesiredService service, ReleaseState state, Sides sides, DateTimeOffset now) =>
        now - state.StepStartedAt > service.RolloutOrDefault.ProgressDeadline
            ? Abort(state, $"instances of revision {state.Target} not ready within progressDeadline {Quantities.Format(service.RolloutOrDefault.ProgressDeadline)}", sides)
            : null;

    private ReleaseState Switch(ReleaseState state, DateTimeOffset now) =>
        Say(state with { Weight = 100, SwitchedAt = now, Step = 1, StepStartedAt = now, Phase = ReleasePhase.Progressing, Reason = null },
            $"switched: all traffic on revision {state.Target}; revision {state.Stable} stays warm for the scale-down delay");

    private static ReleaseState Next(ReleaseState state, DateTimeOffset now) =>
        state with { Step = state.Step + 1, StepStartedAt = now, Phase = ReleasePhase.Progressing, Reason = null };

    private ReleaseState Say(ReleaseState state, string message, bool warning = false)
    {
        events.Record(state.Service, message, warning);
        return state;
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
        var now = time.GetUtcNow();
        _runs.Remove(service);
        return state switch
        {
            { Phase: ReleasePhase.Aborted } => throw new InvalidOperationException($"the release of revision {state.Target} was aborted ({state.Reason}); use retry to start it again"),
            { Strategy: RolloutStrategy.Parallel } => state with { Phase = ReleasePhase.Complete, Weight = 100, Reason = null },
            { Strategy: RolloutStrategy.BlueGreen, SwitchedAt: null } => Switch(state with { SkipAnalysis = full || state.SkipAnalysis }, now),
            { Strategy: RolloutStrategy.BlueGreen } => state with { Phase = ReleasePhase.Complete, Reason = null },
            _ when full => state with { Phase = ReleasePhase.Promoting, SkipAnalysis = true, Reason = null },
            _ => Next(state, now),
        };
    });

    /// <summary>Aborts by hand; <paramref name="desired"/> and <paramref name="observed"/> tell how much of the traffic the stable side can take now.</summary>
    public ReleaseState Abort(string service, string actor, int desired, IReadOnlyList<InstanceStatus> observed) => Change(service, "abort", actor, state =>
    {
        _runs.Remove(service);
        var ready = observed.Where(i => i.Service == service && i.InRotation && i.State != InstanceState.Stopping).ToList();
        return state.Phase == ReleasePhase.Aborted
            ? throw new InvalidOperationException($"the release of revision {state.Target} is already aborted")
            : BackOntoStable(state with { Phase = ReleasePhase.Aborted, Reason = $"aborted by {actor}" },
                new Sides(desired, ready.Count(i => i.Revision == state.Target), ready.Count(i => i.Revision == state.Stable)));
    });

    public ReleaseState Retry(string service, string actor) => Change(service, "retry", actor, state =>
        state.Phase != ReleasePhase.Aborted
            ? throw new InvalidOperationException($"only an aborted release can be retried; this one is {state.Phase.ToString().ToLowerInvariant()}")
            : state with { Phase = ReleasePhase.Progressing, Step = 0, StepStartedAt = time.GetUtcNow(), Weight = 0, Reason = null, SwitchedAt = null, SkipAnalysis = false, Analyses = null });

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
            return new ReleaseStatus(state.Strategy, state.Phase, state.Target, state.Stable, state.Weight, state.Step, steps, StepText(state, rollout), state.Reason, state.IsDegraded,
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

    private static string Describe(RolloutStrategy strategy) => strategy switch
    {
        RolloutStrategy.Canary => "canary",
        RolloutStrategy.Parallel => "parallel run",
        _ => "blue-green release",
    };

    private static string Describe(ReleaseState state) => $"{state.Phase.ToString().ToLowerInvariant()}, {state.Weight}% on revision {state.Target}";
}
