using Flotilla.Controllers.InstanceSets;
using Flotilla.Model;
using Flotilla.Router;

namespace Flotilla.Controllers.Rollouts;

/// <summary>
/// A canary: the new revision beside the stable one, taking traffic step by step (a weight, a
/// pause, an analysis, a parallel run); after the last step it is scaled to full size, then
/// takes all traffic. A step that needs instances waits for them until the progress deadline.
/// </summary>
internal static class CanaryPlanner
{
    public static ReleaseState Advance(ReleaseLook look, ReleaseState state)
    {
        var (rollout, sides, now) = (look.Rollout, look.Sides, look.Now);
        switch (state.Phase)
        {
            case ReleasePhase.Aborted:
                return ReleasePlanner.BackOntoStable(state, sides);
            case ReleasePhase.Promoting:
                return sides.TargetReady >= sides.Desired
                    ? look.Say(state with { Phase = ReleasePhase.Complete, Weight = 100, Reason = null }, $"promoted: all traffic on revision {state.Target}")
                    : look.Stalled(state) ?? state;
            case ReleasePhase.Paused:
                return rollout.Steps.ElementAtOrDefault(state.Step)?.Pause?.Duration is { } pause && now - state.StepStartedAt >= pause ? look.Next(state) : state;
        }
        if (state.Step >= rollout.Steps.Count)
        {
            return look.Say(state with { Phase = ReleasePhase.Promoting, Reason = null }, $"steps done: scaling revision {state.Target} to {sides.Desired} before it takes all traffic");
        }
        var step = rollout.Steps[state.Step];
        if (step.Weight is { } weight)
        {
            if (state.Weight != weight)
            {
                return look.Say(state with { Weight = weight }, $"canary at {weight}% of traffic (step {state.Step + 1} of {rollout.Steps.Count})");
            }
            return sides.TargetReady >= ReleasePlanner.CanaryCount(sides.Desired, weight) ? look.Next(state) : look.Stalled(state) ?? state;
        }
        if (step.Parallel is { } mirror)
        {
            return look.JudgeParallel(state, mirror, look.Next);
        }
        if (step.Pause is { } p)
        {
            return p.Duration is null
                ? look.Say(state with { Phase = ReleasePhase.Paused, Reason = $"paused at step {state.Step + 1} until promoted (flotilla rollout promote {state.Service})" }, $"paused at step {state.Step + 1} until promoted")
                : now - state.StepStartedAt >= p.Duration ? look.Next(state) : state;
        }
        if (step.Analysis!.Baseline && sides.BaselineReady < ReleasePlanner.CanaryCount(sides.Desired, state.Weight))
        {
            // The baseline's fresh instances must be serving before its first interval starts.
            return look.Stalled(state) ?? state;
        }
        return look.Analyse(state, $"step {state.Step + 1} analysis", step.Analysis, look.Next);
    }

    /// <summary>
    /// The canary at its share of the desired count (none once an abort has all traffic back), the
    /// stable set at full size or, with dynamicStableScale, what the canary leaves; a baseline beside
    /// them while an analysis compares with one; the mirror during a parallel step.
    /// </summary>
    public static DesiredService Desired(DesiredService service, ReleaseState state)
    {
        var rollout = service.RolloutOrDefault;
        var n = service.Instances;
        var canary = ReleasePlanner.CanaryCount(n, state.Weight);
        var (target, stable) = state.Phase switch
        {
            ReleasePhase.Aborted => (state.Weight > 0 ? canary : 0, n),
            ReleasePhase.Promoting => (n, rollout.DynamicStableScale ? n - canary : n),
            _ => (canary, rollout.DynamicStableScale ? n - canary : n),
        };
        var baseline = BaselineActive(state, rollout) ? state.StableSpec! with { Revision = ReleasePlanner.BaselineOf(state.Stable), Instances = canary, Zones = service.Zones } : null;
        var mirror = state.Phase is ReleasePhase.Progressing or ReleasePhase.Paused && rollout.Steps.ElementAtOrDefault(state.Step)?.Parallel is { } step
            ? ReleasePlanner.MirrorOf(state, step)
            : null;
        return ReleasePlanner.SideBySide(service, state, target, stable,
            new TrafficSplit(state.Target, state.Weight, rollout.Match, rollout.StickyHeader, baseline?.Revision), baseline, mirror: mirror);
    }

    /// <summary>True while a canary's current step is an analysis against a fresh baseline.</summary>
    private static bool BaselineActive(ReleaseState state, RolloutSpec rollout) =>
        state is { Phase: ReleasePhase.Progressing, Weight: > 0 and < 100 }
        && rollout.Steps.ElementAtOrDefault(state.Step)?.Analysis is { Baseline: true };

    /// <summary>By hand: the next step (skipping a pause or a running analysis), or with <paramref name="full"/> all traffic once the canary is at full size.</summary>
    public static ReleasePlan Promote(ReleaseState state, bool full, DateTimeOffset now) =>
        ReleasePlan.Of(full ? state with { Phase = ReleasePhase.Promoting, SkipAnalysis = true, Reason = null } : ReleasePlanner.Next(state, now));
}
