using Flotilla.Controllers.Rollouts;
using Flotilla.Model;

namespace Flotilla.Tests.Controllers.Releases;

/// <summary>A parallel run through the controller under a fake clock: the router's report is read only when the planner asks, and judged.</summary>
public sealed class ParallelRunTimingTests
{
    private static readonly RolloutSpec Parallel = RolloutSpec.Default with
    {
        Strategy = RolloutStrategy.Parallel,
        Parallel = new ParallelSpec { Duration = TimeSpan.FromSeconds(60), MinRequests = 10 },
    };

    [Fact]
    public async Task TheRoutersReport_IsReadOnceComparingBegins_ShownInStatus_AndJudgedWhenTheDurationIsOver()
    {
        var release = new ReleaseScenario(Parallel);
        await release.TickAsync();
        Assert.Equal(0, release.ReportReads);   // the candidate is still starting: nothing to compare yet

        release.Ready("v2", 2);
        Assert.Equal(1, (await release.TickAsync()).Step);
        var run = release.Overlaid.Mirror!.Run;

        release.Report = PlannerCase.Report("an earlier run", 100, 90);
        release.Time.Advance(TimeSpan.FromSeconds(60));
        Assert.Equal(ReleasePhase.Progressing, (await release.TickAsync()).Phase);   // another run's report is not judged
        Assert.Null(release.Controller.Status("api", Parallel)?.Parallel);

        release.Report = PlannerCase.Report(run, 100, 0);
        var done = await release.TickAsync();
        Assert.Equal((ReleasePhase.Complete, 100), (done.Phase, done.Weight));
        Assert.Contains("parallel run passed: 0 of 100 compared requests differ (0%, limit 1%)", release.Messages);
        Assert.Same(release.Report, release.Controller.Status("api", Parallel)?.Parallel);
    }
}
