using Flotilla.Controllers.InstanceSets;
using Flotilla.Controllers.Rollouts;
using Flotilla.Model;
using Flotilla.Runtime;
using static Flotilla.Tests.Controllers.Releases.PlannerCase;

namespace Flotilla.Tests.Controllers.Releases;

/// <summary>How a release begins, and the operators' abort and retry, as pure decisions.</summary>
public sealed class ReleasePlannerTests
{
    private static readonly RolloutSpec Canary = RolloutSpec.Default with { Strategy = RolloutStrategy.Canary, Steps = [new CanaryStep(Weight: 50)] };
    private int _ids;

    private InstanceStatus Running(string revision) =>
        new($"api-{revision}-{++_ids}", "api", revision, 1000 + _ids, null, 5000 + _ids, InstanceState.Ready, T0, T0, true, false, null, null, "/dev/null");

    private static DesiredService? History(string service, string revision) => revision is "v1" or "v2" ? Desired(revision, 4, Canary) : null;

    private static ReleasePlan Begin(string revision, ReleaseState? prior, params InstanceStatus[] observed) =>
        ReleasePlanner.Begin(Desired(revision, 4, Canary), prior, observed, History, T0);

    [Fact]
    public void ANewRevision_BeginsFromTheRevisionMostLiveInstancesRun()
    {
        var plan = Begin("v3", null, Running("v1"), Running("v2"), Running("v2"), Running("v3"));
        Assert.Equal((ReleasePhase.Progressing, "v3", "v2", 0, 0, T0), (plan.Next.Phase, plan.Next.Target, plan.Next.Stable, plan.Next.Step, plan.Next.Weight, plan.Next.StepStartedAt));
        Assert.Equal("v2", plan.Next.StableSpec?.Revision);
        Assert.Equal("canary of revision v3 begins (stable: v2)", Assert.Single(plan.Messages).Text);
    }

    [Fact]
    public void WithNothingRunningBefore_TheRevisionStartsAtFullSize_NoSteps()
    {
        var plan = Begin("v1", null);
        Assert.Equal((ReleasePhase.Complete, 100), (plan.Next.Phase, plan.Next.Weight));
        Assert.Equal("revision v1: no earlier revision runs: started at full size", Assert.Single(plan.Messages).Text);
    }

    [Fact]
    public void AfterACompleteRelease_TheNextBeginsFromItsTarget()
    {
        var done = Begin("v2", null).Next;
        Assert.Equal("v2", Begin("v3", done).Next.Stable);
    }

    [Fact]
    public void GoingBackToTheStableRevision_SkipsTheSteps()
    {
        var canary = Begin("v2", null, Running("v1")).Next with { Weight = 50 };
        var back = Begin("v1", canary);
        Assert.Equal((ReleasePhase.Complete, "v1"), (back.Next.Phase, back.Next.Target));
        Assert.Equal("revision v1: back to revision v1, which was stable before: steps skipped", Assert.Single(back.Messages).Text);
    }

    [Fact]
    public void AStableRevisionNoLongerInTheHistory_IsARollingUpdate_WithAWarning()
    {
        var plan = Begin("v2", null, Running("v0"));
        Assert.Equal(ReleasePhase.Complete, plan.Next.Phase);
        ReleaseMessage[] said =
        [
            new("stable revision v0 is no longer in the history: rolling update instead of a Canary", Warning: true),
            new("revision v2: stable revision unknown: rolling update"),
        ];
        Assert.Equal(said, plan.Messages);
    }

    [Fact]
    public void AbortByHand_SendsTrafficBackAsTheStableSideAllows_AndRetryStartsAgainFromTheFirstStep()
    {
        var release = new PlannerCase(Canary);
        var canary = release.At(step: 1, weight: 50) with { Analyses = [Verdict("step 2 analysis", AnalysisPhase.Inconclusive)] };

        var aborted = ReleasePlanner.Abort(canary, "ana", new ReleaseSides(4, 2, 3, 0));
        Assert.Equal((ReleasePhase.Aborted, 25, "aborted by ana"), (aborted.Phase, aborted.Weight, aborted.Reason));
        Assert.Throws<InvalidOperationException>(() => ReleasePlanner.Abort(aborted, "ana", new ReleaseSides(4, 2, 4, 0)));

        release.Time.Advance(TimeSpan.FromMinutes(3));
        var retried = ReleasePlanner.Retry(aborted, release.Now);
        Assert.Equal((ReleasePhase.Progressing, 0, 0, release.Now, (string?)null, (IReadOnlyList<AnalysisReport>?)null),
            (retried.Phase, retried.Step, retried.Weight, retried.StepStartedAt, retried.Reason, retried.Analyses));
        var error = Assert.Throws<InvalidOperationException>(() => ReleasePlanner.Retry(retried, release.Now));
        Assert.Equal("only an aborted release can be retried; this one is progressing", error.Message);
    }
}
