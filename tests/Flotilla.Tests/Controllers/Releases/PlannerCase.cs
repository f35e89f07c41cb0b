using Flotilla.Controllers.InstanceSets;
using Flotilla.Controllers.Rollouts;
using Flotilla.Model;
using Flotilla.Router.Metrics;
using Flotilla.Router.Mirror;
using Microsoft.Extensions.Time.Testing;

namespace Flotilla.Tests.Controllers.Releases;

/// <summary>
/// The release planner alone: "api" goes from revision v1 to v2 (4 instances by default) with a
/// given rollout. A test sets the ready counts and what was measured, moves the fake clock, and
/// looks; each look hands the planner the state as the last look left it. No controller, event
/// log, router or process.
/// </summary>
internal sealed class PlannerCase
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);

    public PlannerCase(RolloutSpec rollout, int instances = 4)
    {
        Rollout = rollout;
        Service = Desired("v2", instances, rollout);
        State = new ReleaseState("api", rollout.Strategy, "v2", "v1", Service, Desired("v1", instances, rollout), ReleasePhase.Progressing, 0, T0, 0);
        Sides = new ReleaseSides(instances, 0, instances, 0);
    }

    public FakeTimeProvider Time { get; } = new(T0);
    public RolloutSpec Rollout { get; }
    public DesiredService Service { get; }
    public ReleaseState State { get; set; }
    public ReleaseSides Sides { get; set; }
    public DateTimeOffset Now => Time.GetUtcNow();

    /// <summary>Every message said so far, in order.</summary>
    public List<ReleaseMessage> Messages { get; } = [];

    /// <summary>Puts the release at a step, begun now, with a weight.</summary>
    public ReleaseState At(int step, int weight, ReleasePhase phase = ReleasePhase.Progressing) =>
        State = State with { Step = step, Weight = weight, StepStartedAt = Now, Phase = phase };

    /// <summary>How many instances of the new, stable and baseline revision are ready.</summary>
    public void Ready(int target, int? stable = null, int baseline = 0) =>
        Sides = Sides with { TargetReady = target, StableReady = stable ?? Sides.StableReady, BaselineReady = baseline };

    /// <summary>One look with what was measured; the state becomes the plan's next state.</summary>
    public ReleasePlan Look(ReleaseEvidence? evidence = null)
    {
        var plan = ReleasePlanner.Plan(State, Rollout, Sides, evidence ?? ReleaseEvidence.None, Now);
        State = plan.Next;
        Messages.AddRange(plan.Messages);
        return plan;
    }

    /// <summary>An operator's promote, now.</summary>
    public ReleasePlan Promote(bool full = false)
    {
        var plan = ReleasePlanner.Promote(State, full, Now);
        State = plan.Next;
        Messages.AddRange(plan.Messages);
        return plan;
    }

    /// <summary>The desired state the instance-set controller and the router would be handed now.</summary>
    public DesiredService Overlaid => ReleasePlanner.Desired(Service, State);

    public static DesiredService Desired(string revision, int instances, RolloutSpec rollout) =>
        new("api", revision, instances, ["app"], new Dictionary<string, string>(), new HttpSpec(null, null, null),
            TimeoutsSpec.Default, RestartSpec.Default, [], Rollout: rollout);

    /// <summary>An analysis's report with its verdict after <paramref name="measurements"/> measurements.</summary>
    public static AnalysisReport Verdict(string name, AnalysisPhase phase, string? reason = null, int measurements = 1) =>
        new(name, phase, [.. Enumerable.Repeat(new Measurement(T0, phase, new WindowSummary(0, null, null, null, null), null, [reason ?? "all checks passed"]), measurements)], reason);

    /// <summary>The router's report of a parallel run of v2.</summary>
    public static ParallelReport Report(string run, long compared, long mismatches) =>
        new("v2", run, T0, compared, mismatches, compared == 0 ? 0 : 100.0 * mismatches / compared, 0, 0, 0, [], [], new LatencyReport(null, null), new LatencyReport(null, null));

    public static Threshold AtLeast(string percent) => Threshold.Parse($">= {percent}", true, out _)!;
}
