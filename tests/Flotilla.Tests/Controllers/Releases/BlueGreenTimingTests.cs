using Flotilla.Controllers.Rollouts;
using Flotilla.Model;
using static Flotilla.Tests.Controllers.Releases.ReleaseScenario;

namespace Flotilla.Tests.Controllers.Releases;

/// <summary>Blue-green decisions under a fake clock: the automatic switch, analyses before and after it, and the scale-down delay.</summary>
public sealed class BlueGreenTimingTests
{
    private static readonly AnalysisSpec SuccessRate = new() { Interval = TimeSpan.FromSeconds(10), MinRequests = 10, SuccessRate = AtLeast("95%") };

    private static RolloutSpec BlueGreen(AnalysisSpec? pre = null, AnalysisSpec? post = null) =>
        RolloutSpec.Default with { Strategy = RolloutStrategy.BlueGreen, ScaleDownDelay = TimeSpan.FromSeconds(30), PrePromotionAnalysis = pre, PostPromotionAnalysis = post };

    [Fact]
    public async Task AutoPromote_SwitchesOnceTheNewColourIsReadyAtFullSize_AndTheOldIsScaledDownWhenTheDelayIsOver()
    {
        var release = new ReleaseScenario(BlueGreen());
        release.Ready("v2", 1);
        var half = await release.TickAsync();
        Assert.Equal((null, 0), (half.SwitchedAt, half.Weight));

        release.Ready("v2", 1);
        var switched = await release.TickAsync();
        Assert.Equal((T0, 100), (switched.SwitchedAt, switched.Weight));
        Assert.Contains("switched: all traffic on revision v2; revision v1 stays warm for the scale-down delay", release.Messages);
        Assert.Equal(2, release.Overlaid.Stable?.Instances);   // the old colour, warm for an instant undo

        var warm = await release.RunForAsync(TimeSpan.FromSeconds(29));
        Assert.Equal(ReleasePhase.Progressing, warm.Phase);
        Assert.Equal(2, release.Overlaid.Stable?.Instances);

        var done = await release.RunForAsync(TimeSpan.FromSeconds(1));
        Assert.Equal(ReleasePhase.Complete, done.Phase);
        Assert.Contains("scale-down delay over: revision v1 (the old colour) scaled down", release.Messages);
        Assert.Null(release.Overlaid.Stable);
    }

    [Fact]
    public async Task APrePromotionAnalysis_MustPassBeforeTheSwitch()
    {
        var release = new ReleaseScenario(BlueGreen(pre: SuccessRate));
        release.Ready("v2", 2);
        Assert.Null((await release.TickAsync()).SwitchedAt);

        release.Time.Advance(TimeSpan.FromSeconds(5));
        Assert.Null((await release.TickAsync(Interval("v2", 20))).SwitchedAt);   // preview traffic, the analysis still measuring
        release.Time.Advance(TimeSpan.FromSeconds(5));
        var analysed = await release.TickAsync(Interval("v2", 20));
        Assert.Equal(("prePromotionAnalysis", AnalysisPhase.Successful), (Assert.Single(analysed.Analyses!).Name, analysed.Analyses![0].Phase));

        var switched = await release.TickAsync();
        Assert.Equal((T0.AddSeconds(10), 100), (switched.SwitchedAt, switched.Weight));
    }

    [Fact]
    public async Task AFailingPrePromotionAnalysis_AbortsWithoutEverSwitching()
    {
        var release = new ReleaseScenario(BlueGreen(pre: SuccessRate));
        release.Ready("v2", 2);
        await release.TickAsync();
        release.Time.Advance(TimeSpan.FromSeconds(10));
        var aborted = await release.TickAsync(Interval("v2", 20, errors: 20));

        Assert.Equal((ReleasePhase.Aborted, 0, null), (aborted.Phase, aborted.Weight, aborted.SwitchedAt));
        Assert.Contains("success rate 50% is not >= 95%", aborted.Reason, StringComparison.Ordinal);
        Assert.Equal(0, (await release.RunForAsync(TimeSpan.FromMinutes(5))).Weight);
    }

    [Fact]
    public async Task APostPromotionAnalysis_ThatPasses_KeepsTheSwitch_AndTheDelayCountsFromTheSwitch()
    {
        var release = new ReleaseScenario(BlueGreen(post: SuccessRate));
        release.Ready("v2", 2);
        Assert.Equal(T0, (await release.TickAsync()).SwitchedAt);
        await release.TickAsync();

        release.Time.Advance(TimeSpan.FromSeconds(10));
        var analysed = await release.TickAsync(Interval("v2", 50));
        Assert.Equal(("postPromotionAnalysis", AnalysisPhase.Successful), (Assert.Single(analysed.Analyses!).Name, analysed.Analyses![0].Phase));
        Assert.Equal((ReleasePhase.Progressing, 100), (analysed.Phase, analysed.Weight));

        Assert.Equal(ReleasePhase.Progressing, (await release.RunForAsync(TimeSpan.FromSeconds(19))).Phase);
        Assert.Equal(ReleasePhase.Complete, (await release.RunForAsync(TimeSpan.FromSeconds(1))).Phase);
    }

    [Fact]
    public async Task APostPromotionAnalysis_ThatFails_SendsAllTrafficBackToTheOldColour()
    {
        var release = new ReleaseScenario(BlueGreen(post: SuccessRate));
        release.Ready("v2", 2);
        await release.TickAsync();
        await release.TickAsync();

        release.Time.Advance(TimeSpan.FromSeconds(10));
        var aborted = await release.TickAsync(Interval("v2", 10, errors: 30));
        Assert.Equal((ReleasePhase.Aborted, 0), (aborted.Phase, aborted.Weight));
        Assert.Contains("success rate 25% is not >= 95%", aborted.Reason, StringComparison.Ordinal);
        var overlaid = release.Overlaid;
        Assert.Equal((0, 2), (overlaid.Instances, overlaid.Stable?.Instances));   // the new colour scaled away, the old one at full size
    }
}
