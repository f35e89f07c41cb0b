using System.Globalization;
using Flotilla.Controllers.Rollouts;
using Flotilla.Model;
using Flotilla.Router.Mirror;
using static Flotilla.Tests.Controllers.Releases.PlannerCase;

namespace Flotilla.Tests.Controllers.Releases;

/// <summary>Parallel-run decisions as tables: the candidate started without traffic, the mirror, and the gate's limits (duration, request count, minRequests, maxMismatchRate).</summary>
public sealed class ParallelRunPlannerTests
{
    private static readonly TimeSpan Tick = TimeSpan.FromTicks(1);

    private static RolloutSpec Parallel(int? requests = null, bool autoPromote = true) => RolloutSpec.Default with
    {
        Strategy = RolloutStrategy.Parallel,
        Parallel = new ParallelSpec { Duration = TimeSpan.FromSeconds(60), Requests = requests, MinRequests = 50, MaxMismatchRate = 1, AutoPromote = autoPromote },
    };

    /// <summary>A parallel run whose comparing began now (step 1), and the id of its run.</summary>
    private static (PlannerCase Release, string Run) Comparing(RolloutSpec rollout)
    {
        var release = new PlannerCase(rollout);
        release.Ready(4);
        release.Look();
        return (release, release.Now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture));
    }

    [Fact]
    public void TheCandidateStartsAtFullSizeWithNoTraffic_ThenRequestsAreMirroredToIt()
    {
        var release = new PlannerCase(Parallel());
        Assert.Equal((4, 4, 0, (MirrorPolicy?)null), (release.Overlaid.Instances, release.Overlaid.Stable?.Instances, release.Overlaid.Traffic?.Weight, release.Overlaid.Mirror));

        release.Ready(3);
        var starting = release.State;
        Assert.Same(starting, release.Look().Next);

        release.Time.Advance(TimeSpan.FromSeconds(5));
        release.Ready(4);
        var comparing = release.Look();
        Assert.Equal((1, release.Now), (comparing.Next.Step, comparing.Next.StepStartedAt));
        Assert.Equal("parallel run: revision v2 ready; 100% of GET/HEAD/OPTIONS requests are mirrored to it and compared", Assert.Single(comparing.Messages).Text);

        var mirror = release.Overlaid.Mirror;
        var run = release.Now.ToUnixTimeMilliseconds().ToString(CultureInfo.InvariantCulture);
        Assert.Equal(("v2", run, 0), (mirror?.Candidate, mirror?.Run, release.Overlaid.Traffic?.Weight));
        Assert.Equal(new ParallelReportRequest(run), release.Look().ReadReport);
    }

    [Fact]
    public void AReportOfAnotherRun_IsNotJudged_ItsOwnIsAskedFor()
    {
        var (release, run) = Comparing(Parallel());
        var comparing = release.State;
        release.Time.Advance(TimeSpan.FromMinutes(5));

        var plan = release.Look(new ReleaseEvidence(Report: Report("1", compared: 1000, mismatches: 900)));
        Assert.Same(comparing, plan.Next);
        Assert.Equal(new ParallelReportRequest(run), plan.ReadReport);
    }

    [Theory]
    [InlineData(100, 0, ReleasePhase.Complete, 100, null)]
    [InlineData(100, 1, ReleasePhase.Complete, 100, null)]   // 1% is within maxMismatchRate 1%
    [InlineData(100, 2, ReleasePhase.Aborted, 0, "parallel run: 2 of 100 compared requests differ (2%, limit 1%)")]
    [InlineData(50, 0, ReleasePhase.Complete, 100, null)]
    [InlineData(49, 0, ReleasePhase.Paused, 0, "parallel run inconclusive: 49 requests compared, fewer than minRequests 50; promote or abort")]
    [InlineData(0, 0, ReleasePhase.Paused, 0, "parallel run inconclusive: 0 requests compared, fewer than minRequests 50; promote or abort")]
    public void OnceTheDurationIsOver_TheMismatchRatePromotes_OrAborts_AndTooFewComparisonsPause(long compared, long mismatches, ReleasePhase phase, int weight, string? reason)
    {
        var (release, run) = Comparing(Parallel());
        release.Time.Advance(TimeSpan.FromSeconds(60));

        var judged = release.Look(new ReleaseEvidence(Report: Report(run, compared, mismatches))).Next;
        Assert.Equal((phase, weight, reason), (judged.Phase, judged.Weight, judged.Reason));
    }

    [Theory]
    [InlineData(null, 59_999, 10_000, false)]   // no request limit: only the duration ends it
    [InlineData(null, 60_000, 60, true)]
    [InlineData(500, 10_000, 499, false)]
    [InlineData(500, 10_000, 500, true)]        // the request limit ends it before the duration
    [InlineData(500, 60_000, 60, true)]         // and the duration still does with fewer
    public void TheGate_WaitsForTheDurationOrTheRequestCount_WhicheverComesFirst(int? requests, long elapsedMs, long compared, bool judged)
    {
        var (release, run) = Comparing(Parallel(requests));
        var comparing = release.State;
        release.Time.Advance(TimeSpan.FromMilliseconds(elapsedMs));

        var plan = release.Look(new ReleaseEvidence(Report: Report(run, compared, 0)));
        Assert.Equal(judged, !ReferenceEquals(comparing, plan.Next));
        Assert.Equal(judged ? ReleasePhase.Complete : ReleasePhase.Progressing, plan.Next.Phase);
    }

    [Fact]
    public void ThePassingRun_SaysWhatItCompared_AndPutsAllTrafficOnTheCandidate()
    {
        var (release, run) = Comparing(Parallel());
        release.Time.Advance(TimeSpan.FromSeconds(60));
        var report = Report(run, 200, 1) with { Fields = [new("$.price", 1, "1.0", "1.00")] };

        var plan = release.Look(new ReleaseEvidence(Report: report));
        string[] said = ["parallel run passed: 1 of 200 compared requests differ (0.5%, limit 1%); most: $.price (1)", "all traffic on revision v2"];
        Assert.Equal(said, plan.Messages.Select(m => m.Text));
        Assert.Equal((100, (MirrorPolicy?)null), (release.Overlaid.Traffic?.Weight, release.Overlaid.Mirror));
    }

    [Fact]
    public void WithoutAutoPromote_APassingRunWaitsForPromote_AndKeepsMirroring()
    {
        var (release, run) = Comparing(Parallel(autoPromote: false));
        release.Time.Advance(TimeSpan.FromSeconds(60));

        var waiting = release.Look(new ReleaseEvidence(Report: Report(run, 100, 0))).Next;
        Assert.Equal((ReleasePhase.Paused, 0, "parallel run passed; waiting for flotilla rollout promote api"), (waiting.Phase, waiting.Weight, waiting.Reason));
        Assert.NotNull(release.Overlaid.Mirror);
        release.Time.Advance(TimeSpan.FromHours(1));
        Assert.Same(waiting, release.Look(new ReleaseEvidence(Report: Report(run, 5000, 4000))).Next);   // paused: later comparisons do not re-judge

        Assert.Equal((ReleasePhase.Complete, 100), (release.Promote().Next.Phase, release.State.Weight));
    }

    [Fact]
    public void AnAbortedRun_ScalesTheCandidateAway_AndStopsMirroring()
    {
        var (release, run) = Comparing(Parallel());
        release.Time.Advance(TimeSpan.FromSeconds(60));
        var aborted = release.Look(new ReleaseEvidence(Report: Report(run, 100, 50))).Next;

        Assert.Equal(ReleasePhase.Aborted, aborted.Phase);
        Assert.Equal(new ReleaseMessage("aborted: parallel run: 50 of 100 compared requests differ (50%, limit 1%); all traffic back on stable revision v1", Warning: true), release.Messages[^1]);
        Assert.Equal((0, 4, (MirrorPolicy?)null), (release.Overlaid.Instances, release.Overlaid.Stable?.Instances, release.Overlaid.Mirror));
        Assert.Throws<InvalidOperationException>(() => release.Promote());
    }

    [Fact]
    public void ACandidateNeverReady_IsAbortedAtTheProgressDeadline()
    {
        var release = new PlannerCase(Parallel());
        release.Ready(2);
        release.Time.Advance(RolloutSpec.Default.ProgressDeadline + Tick);
        Assert.Equal(ReleasePhase.Aborted, release.Look().Next.Phase);
    }
}
