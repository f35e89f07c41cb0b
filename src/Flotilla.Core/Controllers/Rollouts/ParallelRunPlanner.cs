using Flotilla.Controllers.InstanceSets;
using Flotilla.Model;
using Flotilla.Router;

namespace Flotilla.Controllers.Rollouts;

/// <summary>
/// A parallel run: the candidate at full size with no user traffic (step 0), then copies of live
/// requests compared for the duration or request count (step 1), then the gate: the mismatch rate
/// promotes (or waits for promote) or aborts; too few comparisons pause.
/// </summary>
internal static class ParallelRunPlanner
{
    public static ReleaseState Advance(ReleaseLook look, ReleaseState state)
    {
        var spec = look.Rollout.Parallel;
        if (state.Phase == ReleasePhase.Aborted)
        {
            return ReleasePlanner.BackOntoStable(state, look.Sides);
        }
        if (state.Step == 0)
        {
            return look.Sides.TargetReady >= look.Sides.Desired
                ? look.Say(state with { Step = 1, StepStartedAt = look.Now }, $"parallel run: revision {state.Target} ready; {spec.Sample}% of {string.Join("/", spec.Methods)} requests are mirrored to it and compared")
                : look.Stalled(state) ?? state;
        }
        return look.JudgeParallel(state, spec,
            passed => spec.AutoPromote
                ? look.Say(passed with { Phase = ReleasePhase.Complete, Weight = 100, Reason = null }, $"all traffic on revision {state.Target}")
                : look.Say(passed with { Phase = ReleasePhase.Paused, Reason = $"parallel run passed; waiting for flotilla rollout promote {state.Service}" }, "waiting for promote"));
    }

    /// <summary>Both revisions at full size (the candidate scaled away once aborted); requests mirrored to the candidate while comparing.</summary>
    public static DesiredService Desired(DesiredService service, ReleaseState state)
    {
        var n = service.Instances;
        var mirror = state is { Step: 1, Phase: ReleasePhase.Progressing or ReleasePhase.Paused } ? ReleasePlanner.MirrorOf(state, service.RolloutOrDefault.Parallel) : null;
        return ReleasePlanner.SideBySide(service, state, state.Phase == ReleasePhase.Aborted ? 0 : n, n, new TrafficSplit(state.Target, state.Weight), mirror: mirror);
    }

    /// <summary>By hand: all traffic on the candidate, whatever the comparison says so far.</summary>
    public static ReleasePlan Promote(ReleaseState state) => ReleasePlan.Of(state with { Phase = ReleasePhase.Complete, Weight = 100, Reason = null });
}
