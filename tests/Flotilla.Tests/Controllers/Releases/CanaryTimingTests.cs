using Flotilla.Controllers.Rollouts;
using Flotilla.Model;
using static Flotilla.Tests.Controllers.Releases.ReleaseScenario;

namespace Flotilla.Tests.Controllers.Releases;

/// <summary>Canary decisions that depend on time, taken under a fake clock: timed pauses, pauses until promoted, the progress deadline, the baseline.</summary>
public sealed class CanaryTimingTests
{
    private static RolloutSpec Canary(params CanaryStep[] steps) => RolloutSpec.Default with { Strategy = RolloutStrategy.Canary, Steps = steps };

    [Fact]
    public async Task ATimedPause_HoldsForItsDuration_ThenTheCanaryGoesOnByItself()
    {
        var release = new ReleaseScenario(Canary(new(Weight: 20), new(Pause: new PauseSpec(TimeSpan.FromMinutes(10))), new(Weight: 60)));
        release.Ready("v2", 1);
        Assert.Equal(20, (await release.TickAsync()).Weight);
        Assert.Equal(1, (await release.TickAsync()).Step);
        var pausedAt = release.Time.GetUtcNow();

        var held = await release.RunForAsync(TimeSpan.FromMinutes(10) - TimeSpan.FromSeconds(1));
        Assert.Equal((ReleasePhase.Progressing, 1, 20), (held.Phase, held.Step, held.Weight));

        var on = await release.RunForAsync(TimeSpan.FromSeconds(1));
        Assert.Equal((2, pausedAt + TimeSpan.FromMinutes(10)), (on.Step, on.StepStartedAt));
        Assert.Equal(60, (await release.TickAsync()).Weight);
    }

    [Fact]
    public async Task APauseWithoutDuration_HoldsForAnyTime_UntilPromoted()
    {
        var release = new ReleaseScenario(Canary(new(Weight: 20), new(Pause: new PauseSpec(null)), new(Weight: 60)));
        release.Ready("v2", 1);
        await release.TickAsync();
        await release.TickAsync();
        Assert.Equal(ReleasePhase.Paused, (await release.TickAsync()).Phase);

        release.Time.Advance(TimeSpan.FromDays(3));
        var held = await release.RunForAsync(TimeSpan.FromSeconds(5));
        Assert.Equal((ReleasePhase.Paused, 1, 20), (held.Phase, held.Step, held.Weight));

        var promoted = release.Controller.Promote("api", full: false, "test");
        Assert.Equal((ReleasePhase.Progressing, 2), (promoted.Phase, promoted.Step));
        Assert.Equal(60, (await release.TickAsync()).Weight);
    }

    [Fact]
    public async Task ACanaryNeverReady_IsAbortedAtItsProgressDeadline_NotASecondBefore()
    {
        var release = new ReleaseScenario(Canary(new(Weight: 20), new(Pause: new PauseSpec(null))) with { ProgressDeadline = TimeSpan.FromMinutes(2) });
        Assert.Equal(20, (await release.TickAsync()).Weight);

        var waiting = await release.RunForAsync(TimeSpan.FromMinutes(2));
        Assert.Equal((ReleasePhase.Progressing, 0, 20), (waiting.Phase, waiting.Step, waiting.Weight));

        var aborted = await release.RunForAsync(TimeSpan.FromSeconds(1));
        Assert.Equal((ReleasePhase.Aborted, 0), (aborted.Phase, aborted.Weight));
        Assert.Contains("instances of revision v2 not ready within progressDeadline 2m", aborted.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ABaselineAnalysis_ComparesWithTheFreshBaseline_NotTheLongRunningStableInstances()
    {
        var analysis = new AnalysisSpec { Interval = TimeSpan.FromSeconds(10), MinRequests = 10, Baseline = true, Compare = new CompareSpec(null, 5, null) };
        var release = new ReleaseScenario(Canary(new(Weight: 50), new(Analysis: analysis), new(Pause: new PauseSpec(null))));
        release.Ready("v2", 1);
        await release.TickAsync();
        Assert.Equal(1, (await release.TickAsync()).Step);
        // The baseline is started beside the canary, as many instances, as the stable revision under its own label.
        var baseline = release.Overlaid.Baseline;
        Assert.Equal(("v1-baseline", 1), (baseline?.Revision, baseline?.Instances));
        release.Ready("v1-baseline", 1);
        await release.TickAsync();

        // Over the interval the baseline served 40 requests, the long-running stable instances only 3:
        // compared with them, the measurement would be inconclusive (fewer than minRequests).
        release.Time.Advance(TimeSpan.FromSeconds(10));
        var passed = await release.TickAsync(Interval("v2", 40), Interval("v1-baseline", 40), Interval("v1", 3));
        var report = Assert.Single(passed.Analyses!);
        Assert.Equal(AnalysisPhase.Successful, report.Phase);
        Assert.Equal(40, Assert.Single(report.Measurements).Stable?.Requests);
        Assert.Equal(2, passed.Step);
        Assert.Null(release.Overlaid.Baseline);   // stopped once its analysis is over
    }
}
