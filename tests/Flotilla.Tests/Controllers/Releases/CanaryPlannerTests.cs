using Flotilla.Controllers.Rollouts;
using Flotilla.Model;
using static Flotilla.Tests.Controllers.Releases.PlannerCase;

namespace Flotilla.Tests.Controllers.Releases;

/// <summary>Canary decisions as tables: state, ready counts, verdicts and a fake clock in; the next state and what was said out.</summary>
public sealed class CanaryPlannerTests
{
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);
    private static readonly AnalysisSpec SuccessRate = new() { Interval = TimeSpan.FromSeconds(10), MinRequests = 10, SuccessRate = AtLeast("99%") };

    private static RolloutSpec Canary(params CanaryStep[] steps) => RolloutSpec.Default with { Strategy = RolloutStrategy.Canary, Steps = steps };

    [Theory]
    [InlineData(4, 25, 1)]
    [InlineData(4, 50, 2)]
    [InlineData(4, 60, 3)]
    [InlineData(4, 100, 4)]
    [InlineData(3, 10, 1)]
    [InlineData(10, 1, 1)]
    [InlineData(5, 0, 1)]
    [InlineData(0, 50, 0)]
    public void TheCanaryGetsItsShareOfTheInstances_RoundedUp_AtLeastOneWhileItRuns(int instances, int weight, int expected) =>
        Assert.Equal(expected, ReleasePlanner.CanaryCount(instances, weight));

    [Fact]
    public void Steps_AdvanceByWeight_EachOnceTheCanaryHasItsShareReady_ThenItIsScaledUpBeforeTakingAllTraffic()
    {
        var release = new PlannerCase(Canary(new(Weight: 25), new(Weight: 50), new(Weight: 75)));
        (int Ready, int Step, int Weight, ReleasePhase Phase)[] looks =
        [
            (0, 0, 25, ReleasePhase.Progressing),   // the first step sets the weight
            (0, 0, 25, ReleasePhase.Progressing),   // and waits for its one instance
            (1, 1, 25, ReleasePhase.Progressing),   // 1 of 4 ready is 25%: next step
            (1, 1, 50, ReleasePhase.Progressing),
            (1, 1, 50, ReleasePhase.Progressing),   // 1 of the 2 that 50% needs
            (2, 2, 50, ReleasePhase.Progressing),
            (2, 2, 75, ReleasePhase.Progressing),
            (3, 3, 75, ReleasePhase.Progressing),
            (3, 3, 75, ReleasePhase.Promoting),     // steps done: scaled to full size first
            (3, 3, 75, ReleasePhase.Promoting),
            (4, 3, 100, ReleasePhase.Complete),
        ];
        foreach (var (look, n) in looks.Select((look, n) => (look, n)))
        {
            release.Ready(look.Ready);
            release.Look();
            Assert.True((look.Step, look.Weight, look.Phase) == (release.State.Step, release.State.Weight, release.State.Phase),
                $"look {n + 1}: expected step {look.Step} at {look.Weight}% {look.Phase}, got step {release.State.Step} at {release.State.Weight}% {release.State.Phase}");
        }
        string[] said =
        [
            "canary at 25% of traffic (step 1 of 3)",
            "canary at 50% of traffic (step 2 of 3)",
            "canary at 75% of traffic (step 3 of 3)",
            "steps done: scaling revision v2 to 4 before it takes all traffic",
            "promoted: all traffic on revision v2",
        ];
        Assert.Equal(said, release.Messages.Select(m => m.Text));
    }

    [Fact]
    public void ACanaryWaitingForItsInstances_IsLeftAsItIs_SameStateNothingSaid()
    {
        var release = new PlannerCase(Canary(new CanaryStep(Weight: 50)));
        var waiting = release.At(step: 0, weight: 50);
        release.Ready(1);

        var plan = release.Look();
        Assert.Same(waiting, plan.Next);
        Assert.Empty(plan.Messages);
        Assert.Null(plan.Analyse);
        Assert.Null(plan.ReadReport);
    }

    [Theory]
    [InlineData(ReleasePhase.Progressing, 50, false, 2, 4)]
    [InlineData(ReleasePhase.Progressing, 50, true, 2, 2)]
    [InlineData(ReleasePhase.Progressing, 0, false, 1, 4)]
    [InlineData(ReleasePhase.Promoting, 75, false, 4, 4)]
    [InlineData(ReleasePhase.Promoting, 75, true, 4, 1)]
    [InlineData(ReleasePhase.Aborted, 50, false, 2, 4)]
    [InlineData(ReleasePhase.Aborted, 0, true, 0, 4)]
    public void TheDesiredCounts_FollowThePhaseAndTheWeight(ReleasePhase phase, int weight, bool dynamicStableScale, int canary, int stable)
    {
        var release = new PlannerCase(Canary(new CanaryStep(Weight: 50)) with { DynamicStableScale = dynamicStableScale });
        release.At(step: 0, weight: weight, phase);

        var overlaid = release.Overlaid;
        Assert.Equal((canary, stable), (overlaid.Instances, overlaid.Stable?.Instances));
        Assert.Equal(("v2", weight), (overlaid.Traffic?.Canary, overlaid.Traffic?.Weight));
        Assert.Equal("v1", overlaid.Stable?.Revision);
    }

    [Theory]
    [InlineData(0, 1)]
    [InlineData(599_999, 1)]
    [InlineData(600_000, 2)]
    [InlineData(3_600_000, 2)]   // looked at late (a restarted control plane): the pause counts from when the step began
    public void ATimedPause_EndsWhenItsDurationHasPassedSinceTheStepBegan(long elapsedMs, int step)
    {
        var release = new PlannerCase(Canary(new(Weight: 25), new(Pause: new PauseSpec(TimeSpan.FromMinutes(10))), new(Weight: 50)));
        var paused = release.At(step: 1, weight: 25);
        release.Ready(1);

        release.Time.Advance(TimeSpan.FromMilliseconds(elapsedMs));
        var plan = release.Look();
        Assert.Equal((step, ReleasePhase.Progressing, 25), (plan.Next.Step, plan.Next.Phase, plan.Next.Weight));
        Assert.Equal(step == 1 ? paused.StepStartedAt : release.Now, plan.Next.StepStartedAt);
    }

    [Fact]
    public void ATimedPause_HoldsUntilTheFakeClockReachesItsEnd_NotOneTickBefore()
    {
        var release = new PlannerCase(Canary(new(Weight: 25), new(Pause: new PauseSpec(TimeSpan.FromMinutes(10))), new(Weight: 50)));
        var paused = release.At(step: 1, weight: 25);
        release.Ready(1);

        release.Time.Advance(TimeSpan.FromMinutes(10) - Tick);
        Assert.Same(paused, release.Look().Next);

        release.Time.Advance(Tick);
        var on = release.Look().Next;
        Assert.Equal((2, PlannerCase.T0 + TimeSpan.FromMinutes(10)), (on.Step, on.StepStartedAt));
        Assert.Equal(50, release.Look().Next.Weight);
        Assert.DoesNotContain(release.Messages, m => m.Text.Contains("paused", StringComparison.Ordinal));
    }

    [Fact]
    public void APauseWithoutDuration_HoldsForAnyTime_UntilPromoted()
    {
        var release = new PlannerCase(Canary(new(Weight: 25), new(Pause: new PauseSpec(null)), new(Weight: 50)));
        release.At(step: 1, weight: 25);
        release.Ready(1);

        var paused = release.Look();
        Assert.Equal((ReleasePhase.Paused, 1), (paused.Next.Phase, paused.Next.Step));
        Assert.Equal("paused at step 2 until promoted (flotilla rollout promote api)", paused.Next.Reason);
        Assert.Equal(new ReleaseMessage("paused at step 2 until promoted"), Assert.Single(paused.Messages));

        foreach (var wait in new[] { TimeSpan.FromSeconds(1), TimeSpan.FromHours(1), TimeSpan.FromDays(30) })
        {
            release.Time.Advance(wait);
            var held = release.Look();
            Assert.Same(paused.Next, held.Next);
            Assert.Empty(held.Messages);
        }

        var promoted = release.Promote();
        Assert.Equal((ReleasePhase.Progressing, 2, release.Now, (string?)null), (promoted.Next.Phase, promoted.Next.Step, promoted.Next.StepStartedAt, promoted.Next.Reason));
        Assert.Equal(50, release.Look().Next.Weight);
    }

    [Fact]
    public void PromoteFull_SkipsTheRemainingSteps_AndTheirAnalyses()
    {
        var release = new PlannerCase(Canary(new(Weight: 25), new(Pause: new PauseSpec(null)), new(Analysis: SuccessRate), new(Weight: 50)));
        release.At(step: 1, weight: 25, ReleasePhase.Paused);

        var promoted = release.Promote(full: true).Next;
        Assert.Equal((ReleasePhase.Promoting, true), (promoted.Phase, promoted.SkipAnalysis));
        release.Ready(4);
        Assert.Equal((ReleasePhase.Complete, 100), (release.Look().Next.Phase, release.State.Weight));
    }

    [Theory]
    [InlineData(4, 0, "all traffic back on stable revision v1")]
    [InlineData(3, 25, "75% of traffic back on stable revision v1")]
    [InlineData(2, 50, "50% of traffic back on stable revision v1")]
    [InlineData(0, 50, "50% of traffic back on stable revision v1")]
    public void ACanaryNotReadyByItsProgressDeadline_IsAborted_WithAsMuchTrafficBackAsTheStableSideCanTake(int stableReady, int weight, string back)
    {
        var release = new PlannerCase(Canary(new CanaryStep(Weight: 50)) with { ProgressDeadline = TimeSpan.FromMinutes(2) });
        var waiting = release.At(step: 0, weight: 50);
        release.Ready(1, stableReady);

        release.Time.Advance(TimeSpan.FromMinutes(2));
        Assert.Same(waiting, release.Look().Next);   // "within" the deadline: exactly at it still waits

        release.Time.Advance(Tick);
        var plan = release.Look();
        Assert.Equal((ReleasePhase.Aborted, weight), (plan.Next.Phase, plan.Next.Weight));
        Assert.Equal("instances of revision v2 not ready within progressDeadline 2m", plan.Next.Reason);
        Assert.Equal(new ReleaseMessage($"aborted: instances of revision v2 not ready within progressDeadline 2m; {back}", Warning: true), Assert.Single(plan.Messages));
    }

    [Fact]
    public void AnAbortedCanary_GivesTrafficBack_AsStableInstancesBecomeReady()
    {
        var release = new PlannerCase(Canary(new CanaryStep(Weight: 50)));
        release.At(step: 0, weight: 50, ReleasePhase.Aborted);
        (int StableReady, int Weight)[] looks = [(2, 50), (3, 25), (3, 25), (4, 0), (4, 0)];
        foreach (var (stableReady, weight) in looks)
        {
            release.Ready(2, stableReady);
            Assert.Equal(weight, release.Look().Next.Weight);
        }
        Assert.Empty(release.Messages);
    }

    [Fact]
    public void AnAnalysisStep_AsksForItsAnalysis_AndWaitsWhileItRuns()
    {
        var release = new PlannerCase(Canary(new(Weight: 25), new(Analysis: SuccessRate), new(Weight: 50)));
        var analysing = release.At(step: 1, weight: 25);
        release.Ready(1);

        var plan = release.Look();
        Assert.Equal(new AnalysisRequest("step 2 analysis", SuccessRate, "v1"), plan.Analyse);
        Assert.Same(analysing, plan.Next);

        var running = release.Look(new ReleaseEvidence(Verdict("step 2 analysis", AnalysisPhase.Running)));
        Assert.Same(analysing, running.Next);
        Assert.NotNull(running.Analyse);
    }

    [Fact]
    public void ABaselineAnalysis_WaitsForTheBaselinesInstances_ThenComparesWithTheBaseline()
    {
        var spec = SuccessRate with { Baseline = true };
        var release = new PlannerCase(Canary(new(Weight: 50), new(Analysis: spec), new(Weight: 75)));
        release.At(step: 1, weight: 50);
        release.Ready(2, baseline: 1);
        Assert.Equal(("v1-baseline", 2), (release.Overlaid.Baseline?.Revision, release.Overlaid.Baseline?.Instances));
        Assert.Equal("v1-baseline", release.Overlaid.Traffic?.Baseline);

        Assert.Null(release.Look().Analyse);   // 1 of the 2 baseline instances ready: its interval would start short

        release.Ready(2, baseline: 2);
        Assert.Equal(new AnalysisRequest("step 2 analysis", spec, "v1-baseline"), release.Look().Analyse);
    }

    [Theory]
    [InlineData(AnalysisPhase.Successful, null, ReleasePhase.Progressing, 2, null, "step 2 analysis passed (3 measurements)", false)]
    [InlineData(AnalysisPhase.Failed, "success rate 50% is not >= 99%", ReleasePhase.Aborted, 1, "success rate 50% is not >= 99%",
        "aborted: success rate 50% is not >= 99%; all traffic back on stable revision v1", true)]
    [InlineData(AnalysisPhase.Inconclusive, "step 2 analysis inconclusive: 3 requests reached revision v2", ReleasePhase.Paused, 1,
        "step 2 analysis inconclusive: 3 requests reached revision v2; not promoting on too little data: promote or abort",
        "step 2 analysis inconclusive: 3 requests reached revision v2", true)]
    public void AnAnalysisVerdict_MovesOn_Aborts_OrPauses(AnalysisPhase verdict, string? why, ReleasePhase phase, int step, string? reason, string message, bool warning)
    {
        var release = new PlannerCase(Canary(new(Weight: 25), new(Analysis: SuccessRate), new(Weight: 50)));
        release.At(step: 1, weight: 25);
        release.Ready(1);
        var report = Verdict("step 2 analysis", verdict, why, measurements: 3);

        var plan = release.Look(new ReleaseEvidence(report));
        Assert.Equal((phase, step, reason), (plan.Next.Phase, plan.Next.Step, plan.Next.Reason));
        Assert.Same(report, Assert.Single(plan.Next.Analyses!));
        Assert.Equal(new ReleaseMessage(message, warning), Assert.Single(plan.Messages));
        Assert.Null(plan.Analyse);
    }

    [Fact]
    public void AnInconclusiveAnalysis_HoldsTheCanaryWhereItIs_UntilAnOperatorPromotesOrAborts()
    {
        var release = new PlannerCase(Canary(new(Weight: 25), new(Analysis: SuccessRate), new(Weight: 50)));
        release.At(step: 1, weight: 25);
        release.Ready(1);
        var paused = release.Look(new ReleaseEvidence(Verdict("step 2 analysis", AnalysisPhase.Inconclusive, "too few requests"))).Next;
        Assert.Equal(ReleasePhase.Paused, paused.Phase);

        release.Time.Advance(TimeSpan.FromDays(1));
        var held = release.Look();
        Assert.Same(paused, held.Next);
        Assert.Null(held.Analyse);   // no new analysis is started while it waits for a decision

        Assert.Equal((ReleasePhase.Progressing, 2), (release.Promote().Next.Phase, release.State.Step));
    }
}
