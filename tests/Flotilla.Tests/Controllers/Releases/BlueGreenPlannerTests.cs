using Flotilla.Controllers.Rollouts;
using Flotilla.Model;
using static Flotilla.Tests.Controllers.Releases.PlannerCase;

namespace Flotilla.Tests.Controllers.Releases;

/// <summary>Blue-green decisions as tables: the new colour on its preview endpoint, the switch, the analyses around it, the scale-down delay.</summary>
public sealed class BlueGreenPlannerTests
{
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);
    private static readonly AnalysisSpec SuccessRate = new() { Interval = TimeSpan.FromSeconds(10), MinRequests = 10, SuccessRate = AtLeast("99%") };

    private static RolloutSpec BlueGreen(bool preview = false, bool autoPromote = true, AnalysisSpec? pre = null, AnalysisSpec? post = null) =>
        RolloutSpec.Default with
        {
            Strategy = RolloutStrategy.BlueGreen, Preview = preview, AutoPromote = autoPromote, ScaleDownDelay = TimeSpan.FromSeconds(30),
            PrePromotionAnalysis = pre, PostPromotionAnalysis = post,
        };

    [Fact]
    public void WithPreview_TheNewColourWaitsOnThePreviewEndpoint_UntilPromoted_ThenTakesAllTrafficAtOnce()
    {
        var release = new PlannerCase(BlueGreen(preview: true, autoPromote: false));
        Assert.Equal((4, 4, true, 0), (release.Overlaid.Instances, release.Overlaid.Stable?.Instances, release.Overlaid.Preview, release.Overlaid.Traffic?.Weight));

        release.Ready(3);
        var starting = release.State;
        Assert.Same(starting, release.Look().Next);   // not at full size yet

        release.Ready(4);
        var ready = release.Look();
        Assert.Equal((ReleasePhase.Paused, 0, (DateTimeOffset?)null), (ready.Next.Phase, ready.Next.Weight, ready.Next.SwitchedAt));
        Assert.Equal("revision v2 is ready on the preview endpoint; waiting for flotilla rollout promote api", ready.Next.Reason);
        Assert.Equal("revision v2 ready at full size with no live traffic: waiting for promote", Assert.Single(ready.Messages).Text);

        release.Time.Advance(TimeSpan.FromDays(2));
        Assert.Same(ready.Next, release.Look().Next);
        Assert.True(release.Overlaid.Preview);

        var promoted = release.Promote();
        Assert.Equal((ReleasePhase.Progressing, 100, release.Now, 1), (promoted.Next.Phase, promoted.Next.Weight, promoted.Next.SwitchedAt, promoted.Next.Step));
        Assert.Equal("switched: all traffic on revision v2; revision v1 stays warm for the scale-down delay", Assert.Single(promoted.Messages).Text);
        var overlaid = release.Overlaid;
        Assert.Equal((false, 100, 4, 4), (overlaid.Preview, overlaid.Traffic?.Weight, overlaid.Instances, overlaid.Stable?.Instances));

        release.Time.Advance(TimeSpan.FromSeconds(30) - Tick);
        Assert.Same(promoted.Next, release.Look().Next);   // the old colour stays warm for the whole delay

        release.Time.Advance(Tick);
        var done = release.Look();
        Assert.Equal(ReleasePhase.Complete, done.Next.Phase);
        Assert.Equal("scale-down delay over: revision v1 (the old colour) scaled down", Assert.Single(done.Messages).Text);
    }

    [Fact]
    public void WithAutoPromote_TheSwitchComesOnTheLookThatSeesTheNewColourAtFullSize()
    {
        var release = new PlannerCase(BlueGreen());
        release.Ready(4);
        release.Time.Advance(TimeSpan.FromSeconds(7));
        var switched = release.Look().Next;
        Assert.Equal((100, release.Now, release.Now), (switched.Weight, switched.SwitchedAt, switched.StepStartedAt));
        Assert.False(release.Overlaid.Preview);
    }

    [Fact]
    public void PromoteOnceSwitched_FinishesWithoutWaitingForTheScaleDownDelay()
    {
        var release = new PlannerCase(BlueGreen());
        release.Ready(4);
        release.Look();
        Assert.Equal((ReleasePhase.Complete, 100), (release.Promote().Next.Phase, release.State.Weight));
    }

    [Fact]
    public void APrePromotionAnalysis_IsAskedForOnceTheNewColourIsAtFullSize_AndMustPassBeforeTheSwitch()
    {
        var release = new PlannerCase(BlueGreen(pre: SuccessRate));
        release.Ready(3);
        Assert.Null(release.Look().Analyse);

        release.Ready(4);
        Assert.Equal(new AnalysisRequest("prePromotionAnalysis", SuccessRate, "v1"), release.Look().Analyse);

        var passed = release.Look(new ReleaseEvidence(Verdict("prePromotionAnalysis", AnalysisPhase.Successful)));
        Assert.Null(passed.Next.SwitchedAt);   // judged on this look, switched on the next
        Assert.Equal("prePromotionAnalysis passed (1 measurements)", Assert.Single(passed.Messages).Text);

        var switched = release.Look();
        Assert.Null(switched.Analyse);   // not asked for twice
        Assert.Equal(100, switched.Next.Weight);
    }

    [Fact]
    public void AFailingPrePromotionAnalysis_AbortsWithoutEverSwitching_AndTheNewColourIsScaledAway()
    {
        var release = new PlannerCase(BlueGreen(preview: true, pre: SuccessRate));
        release.Ready(4);
        var aborted = release.Look(new ReleaseEvidence(Verdict("prePromotionAnalysis", AnalysisPhase.Failed, "success rate 80% is not >= 99%"))).Next;

        Assert.Equal((ReleasePhase.Aborted, 0, (DateTimeOffset?)null, "success rate 80% is not >= 99%"), (aborted.Phase, aborted.Weight, aborted.SwitchedAt, aborted.Reason));
        Assert.Equal((0, 4, false), (release.Overlaid.Instances, release.Overlaid.Stable?.Instances, release.Overlaid.Preview));
        release.Time.Advance(TimeSpan.FromHours(1));
        Assert.Same(aborted, release.Look().Next);
    }

    [Fact]
    public void PromoteFull_SwitchesAtOnce_AndSkipsThePostPromotionAnalysis()
    {
        var release = new PlannerCase(BlueGreen(autoPromote: false, post: SuccessRate));
        release.Ready(4);
        release.Look();

        Assert.True(release.Promote(full: true).Next.SkipAnalysis);
        Assert.Null(release.Look().Analyse);
        release.Time.Advance(TimeSpan.FromSeconds(30));
        Assert.Equal(ReleasePhase.Complete, release.Look().Next.Phase);
    }

    [Fact]
    public void AFailingPostPromotionAnalysis_SendsAllTrafficBackToTheWarmOldColour()
    {
        var release = new PlannerCase(BlueGreen(post: SuccessRate));
        release.Ready(4);
        release.Look();
        Assert.Equal(new AnalysisRequest("postPromotionAnalysis", SuccessRate, "v1"), release.Look().Analyse);

        var aborted = release.Look(new ReleaseEvidence(Verdict("postPromotionAnalysis", AnalysisPhase.Failed, "p95 400 ms is not < 300ms"))).Next;
        Assert.Equal((ReleasePhase.Aborted, 0), (aborted.Phase, aborted.Weight));
        Assert.Equal(new ReleaseMessage("aborted: p95 400 ms is not < 300ms; all traffic back on stable revision v1", Warning: true), release.Messages[^1]);
    }

    [Fact]
    public void ANewColourNeverAtFullSize_IsAbortedAtTheProgressDeadline()
    {
        var release = new PlannerCase(BlueGreen() with { ProgressDeadline = TimeSpan.FromMinutes(5) });
        release.Ready(3);
        release.Time.Advance(TimeSpan.FromMinutes(5));
        Assert.Equal(ReleasePhase.Progressing, release.Look().Next.Phase);

        release.Time.Advance(Tick);
        Assert.Equal((ReleasePhase.Aborted, "instances of revision v2 not ready within progressDeadline 5m"), (release.Look().Next.Phase, release.State.Reason));
    }
}
