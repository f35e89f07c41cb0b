using Flotilla.Controllers.InstanceSets;
using Flotilla.Model;
using Flotilla.Router;

namespace Flotilla.Controllers.Rollouts;

/// <summary>
/// Blue-green: the new colour at full size with no live traffic (on a preview endpoint if asked),
/// an optional analysis, then all traffic switched at once, by itself or when promoted; after an
/// optional analysis of the switched colour, the old one is scaled down once the delay is over.
/// <see cref="ReleaseState.Step"/> is 0 before the switch and 1 after it.
/// </summary>
internal static class BlueGreenPlanner
{
    private const string PrePromotion = "prePromotionAnalysis";
    private const string PostPromotion = "postPromotionAnalysis";

    public static ReleaseState Advance(ReleaseLook look, ReleaseState state)
    {
        var (rollout, sides, now) = (look.Rollout, look.Sides, look.Now);
        if (state.Phase == ReleasePhase.Aborted)
        {
            return ReleasePlanner.BackOntoStable(state, sides);
        }
        if (state.SwitchedAt is not { } switchedAt)
        {
            if (state.Phase == ReleasePhase.Paused)
            {
                return state;
            }
            if (sides.TargetReady < sides.Desired)
            {
                return look.Stalled(state) ?? state;
            }
            if (rollout.PrePromotionAnalysis is { } pre && !state.SkipAnalysis && state.Analyses?.Any(a => a.Name == PrePromotion) != true)
            {
                return look.Analyse(state, PrePromotion, pre, passed => passed);
            }
            if (rollout.AutoPromote)
            {
                var (switched, message) = Switch(state, now);
                return look.Say(switched, message);
            }
            return look.Say(state with { Phase = ReleasePhase.Paused, Reason = $"revision {state.Target} is ready{(rollout.Preview ? " on the preview endpoint" : "")}; waiting for flotilla rollout promote {state.Service}" },
                $"revision {state.Target} ready at full size with no live traffic: waiting for promote");
        }
        if (state.Phase == ReleasePhase.Paused)
        {
            return state;
        }
        if (rollout.PostPromotionAnalysis is { } post && !state.SkipAnalysis && state.Analyses?.Any(a => a.Name == PostPromotion) != true)
        {
            return look.Analyse(state, PostPromotion, post, passed => passed);
        }
        return now - switchedAt >= rollout.ScaleDownDelay
            ? look.Say(state with { Phase = ReleasePhase.Complete, Reason = null }, $"scale-down delay over: revision {state.Stable} (the old colour) scaled down")
            : state;
    }

    /// <summary>Both colours at full size (the new one scaled away once aborted); the new one on the preview endpoint until the switch.</summary>
    public static DesiredService Desired(DesiredService service, ReleaseState state)
    {
        var n = service.Instances;
        var aborted = state.Phase == ReleasePhase.Aborted;
        return ReleasePlanner.SideBySide(service, state, aborted ? 0 : n, n, new TrafficSplit(state.Target, state.Weight),
            preview: service.RolloutOrDefault.Preview && state.SwitchedAt is null && !aborted);
    }

    /// <summary>By hand: switch now (with <paramref name="full"/> skipping the analyses), or once switched, finish without waiting for the scale-down delay.</summary>
    public static ReleasePlan Promote(ReleaseState state, bool full, DateTimeOffset now)
    {
        if (state.SwitchedAt is not null)
        {
            return ReleasePlan.Of(state with { Phase = ReleasePhase.Complete, Reason = null });
        }
        var (switched, message) = Switch(state with { SkipAnalysis = full || state.SkipAnalysis }, now);
        return ReleasePlan.Of(switched, message);
    }

    private static (ReleaseState Switched, string Message) Switch(ReleaseState state, DateTimeOffset now) =>
        (state with { Weight = 100, SwitchedAt = now, Step = 1, StepStartedAt = now, Phase = ReleasePhase.Progressing, Reason = null },
            $"switched: all traffic on revision {state.Target}; revision {state.Stable} stays warm for the scale-down delay");
}
