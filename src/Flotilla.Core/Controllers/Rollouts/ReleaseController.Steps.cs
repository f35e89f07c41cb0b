using Flotilla.Controllers.InstanceSets;
using Flotilla.Model;
using Flotilla.Router.Mirror;
using Flotilla.Runtime;

namespace Flotilla.Controllers.Rollouts;

/// <summary>How each strategy moves a release on: canary steps, blue-green switch, parallel run gate, analyses, abort.</summary>
public sealed partial class ReleaseController
{
    /// <summary>The desired instance count and how many of each side are ready now.</summary>
    private readonly record struct Sides(int Desired, int TargetReady, int StableReady, int BaselineReady)
    {
        /// <summary>Ready instances (not on their way out) of the release's new, stable and baseline revisions.</summary>
        public static Sides Of(ReleaseState state, int desired, IReadOnlyList<InstanceStatus> observed)
        {
            var ready = observed.Where(i => i.Service == state.Service && i.InRotation && i.State != InstanceState.Stopping).ToList();
            return new Sides(desired, ready.Count(i => i.Revision == state.Target), ready.Count(i => i.Revision == state.Stable),
                ready.Count(i => i.Revision == BaselineOf(state.Stable)));
        }
    }

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
        return weight == state.Weight ? state : state with { Weight = weight };
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
}
