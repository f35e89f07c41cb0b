using Flotilla.Controllers.InstanceSets;
using Flotilla.Model;
using Flotilla.Router;
using Flotilla.Router.Mirror;
using Flotilla.Runtime;

namespace Flotilla.Controllers.Rollouts;

/// <summary>
/// The release decisions as pure functions: a release's state, its rollout, the ready instances
/// of each side, what was measured and the time in; the next state, what to say and what to
/// measure out. No lock, clock, event log, router or process, so every decision is a table of
/// cases. One planner per strategy (<see cref="CanaryPlanner"/>, <see cref="BlueGreenPlanner"/>,
/// <see cref="ParallelRunPlanner"/>); this class picks one, starts releases, and holds the
/// operators' intents.
/// </summary>
internal static class ReleasePlanner
{
    /// <summary>
    /// The release a service starts when its revision changes, from the revision that ran before
    /// (the prior release's, else the one most of its live instances run). It is complete at once
    /// when nothing ran before, when it goes back to the revision that was stable (an undo: warm
    /// instances, no steps), or when the stable revision's spec is no longer in the history
    /// (<paramref name="findRevision"/> reads the store's).
    /// </summary>
    public static ReleasePlan Begin(DesiredService service, ReleaseState? prior, IReadOnlyList<InstanceStatus> observed, Func<string, string, DesiredService?> findRevision, DateTimeOffset now)
    {
        var stable = prior switch
        {
            null => observed.Where(i => i.Service == service.Name && i.IsLive && i.Revision != service.Revision)
                .GroupBy(i => i.Revision).MaxBy(g => g.Count())?.Key,
            { Phase: ReleasePhase.Complete } => prior.Target,
            { Strategy: RolloutStrategy.BlueGreen, SwitchedAt: not null, Phase: not ReleasePhase.Aborted } => prior.Target,
            _ => prior.Stable,
        };
        var targetSpec = service with { Stable = null, Traffic = null, Preview = false };
        ReleasePlan Done(string why, params ReleaseMessage[] before) =>
            new(new ReleaseState(service.Name, service.RolloutOrDefault.Strategy, service.Revision, service.Revision, targetSpec, null, ReleasePhase.Complete, 0, now, 100, why),
                [.. before, new ReleaseMessage($"revision {service.Revision}: {why}")]);
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
            return Done("stable revision unknown: rolling update",
                new ReleaseMessage($"stable revision {stable} is no longer in the history: rolling update instead of a {service.RolloutOrDefault.Strategy}", Warning: true));
        }
        var state = new ReleaseState(service.Name, service.RolloutOrDefault.Strategy, service.Revision, stable, targetSpec, stableSpec with { Stable = null, Traffic = null, Preview = false },
            ReleasePhase.Progressing, 0, now, 0);
        return ReleasePlan.Of(state, $"{ReleaseState.Kind(state.Strategy)} of revision {service.Revision} begins (stable: {stable})");
    }

    /// <summary>One look at an active release: where it goes from here.</summary>
    public static ReleasePlan Plan(ReleaseState state, RolloutSpec rollout, ReleaseSides sides, ReleaseEvidence evidence, DateTimeOffset now)
    {
        var look = new ReleaseLook(rollout, sides, evidence, now);
        var next = state.Strategy switch
        {
            RolloutStrategy.Canary => CanaryPlanner.Advance(look, state),
            RolloutStrategy.Parallel => ParallelRunPlanner.Advance(look, state),
            _ => BlueGreenPlanner.Advance(look, state),
        };
        return look.Result(next);
    }

    /// <summary>
    /// The desired service with its release applied, as the instance-set controller and the router
    /// take it: how many instances each side keeps, the traffic split, the preview endpoint, the mirror.
    /// </summary>
    public static DesiredService Desired(DesiredService service, ReleaseState state) => state.Strategy switch
    {
        RolloutStrategy.BlueGreen => BlueGreenPlanner.Desired(service, state),
        RolloutStrategy.Parallel => ParallelRunPlanner.Desired(service, state),
        _ => CanaryPlanner.Desired(service, state),
    };

    /// <summary>
    /// Promote: the next step (skipping a pause or a running analysis), or with <paramref name="full"/>
    /// straight to all traffic on the new revision. Blue-green: switch now. Throws
    /// <see cref="InvalidOperationException"/> with what to do instead when there is nothing to promote.
    /// </summary>
    public static ReleasePlan Promote(ReleaseState state, bool full, DateTimeOffset now) => state switch
    {
        { Phase: ReleasePhase.Aborted } => throw new InvalidOperationException($"the release of revision {state.Target} was aborted ({state.Reason}); use retry to start it again"),
        { Strategy: RolloutStrategy.Parallel } => ParallelRunPlanner.Promote(state),
        { Strategy: RolloutStrategy.BlueGreen } => BlueGreenPlanner.Promote(state, full, now),
        _ => CanaryPlanner.Promote(state, full, now),
    };

    /// <summary>Aborts by hand; <paramref name="sides"/> tell how much of the traffic the stable side can take now.</summary>
    public static ReleaseState Abort(ReleaseState state, string actor, ReleaseSides sides) =>
        state.Phase == ReleasePhase.Aborted
            ? throw new InvalidOperationException($"the release of revision {state.Target} is already aborted")
            : BackOntoStable(state with { Phase = ReleasePhase.Aborted, Reason = $"aborted by {actor}" }, sides);

    /// <summary>Starts an aborted release again from its first step.</summary>
    public static ReleaseState Retry(ReleaseState state, DateTimeOffset now) =>
        state.Phase != ReleasePhase.Aborted
            ? throw new InvalidOperationException($"only an aborted release can be retried; this one is {state.Phase.ToString().ToLowerInvariant()}")
            : state with { Phase = ReleasePhase.Progressing, Step = 0, StepStartedAt = now, Weight = 0, Reason = null, SwitchedAt = null, SkipAnalysis = false, Analyses = null };

    /// <summary>The new revision at <paramref name="target"/> instances beside the stable one at <paramref name="stable"/>, and how traffic reaches them.</summary>
    public static DesiredService SideBySide(DesiredService service, ReleaseState state, int target, int stable, TrafficSplit traffic,
        DesiredService? baseline = null, bool preview = false, MirrorPolicy? mirror = null) =>
        service with
        {
            Instances = target,
            Stable = state.StableSpec! with { Instances = stable, Zones = service.Zones },
            Baseline = baseline,
            Traffic = traffic,
            Preview = preview,
            Mirror = mirror,
        };

    /// <summary>After an abort: the canary's share shrinks as stable instances become ready; 0 once the stable side is at full size.</summary>
    public static ReleaseState BackOntoStable(ReleaseState state, ReleaseSides sides)
    {
        var weight = sides.StableReady >= sides.Desired || state.Weight == 0 ? 0
            : Math.Min(state.Weight, (int)Math.Ceiling(100.0 * (sides.Desired - sides.StableReady) / sides.Desired));
        return weight == state.Weight ? state : state with { Weight = weight };
    }

    public static ReleaseState Next(ReleaseState state, DateTimeOffset now) =>
        state with { Step = state.Step + 1, StepStartedAt = now, Phase = ReleasePhase.Progressing, Reason = null };

    /// <summary>The router's side of a parallel run; the run id is when comparing began, so a retry starts a new report.</summary>
    public static MirrorPolicy MirrorOf(ReleaseState state, ParallelSpec spec) =>
        new(state.Target, spec.Sample, spec.Methods, spec.MaxBodyBytes, spec.Headers, spec.Ignore, spec.ArraysAsSets,
            state.StepStartedAt.ToUnixTimeMilliseconds().ToString(System.Globalization.CultureInfo.InvariantCulture));

    /// <summary>The revision label of a baseline: the stable revision's code and config, counted apart by the router.</summary>
    public static string BaselineOf(string stable) => $"{stable}-baseline";

    /// <summary>Instances of the canary for a weight: its share of the desired count, at least one while it runs.</summary>
    public static int CanaryCount(int instances, int weight) =>
        instances == 0 ? 0 : Math.Clamp((int)Math.Ceiling(instances * weight / 100.0), 1, instances);
}
