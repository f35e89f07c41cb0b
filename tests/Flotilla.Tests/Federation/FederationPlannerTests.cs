using Flotilla.Federation;

namespace Flotilla.Tests.Federation;

/// <summary>The federation's planner is pure: the desired revision and each cluster as last seen in, a step per cluster out.</summary>
public sealed class FederationPlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 7, 0, 0, TimeSpan.Zero);

    private static FederationRevision Revision(long number, bool ordered, params string[] clusters) =>
        new(number, "name: s", "/tmp/flotilla.yaml", null, "test", Now, [.. clusters.Select(c => new ClusterTarget(c, "local", null))], ordered, TimeSpan.FromMinutes(10));

    /// <summary>A cluster at revision <paramref name="revision"/> with <paramref name="health"/>; unreachable when <paramref name="cause"/> is given.</summary>
    private static ClusterObservation Seen(string name, long revision, ClusterHealth health, string? cause = null, DateTimeOffset? retryAt = null, bool applying = false) =>
        new(name, cause is null, cause, new ClusterProgress(name, revision, revision, Now.AddMinutes(-1), health == ClusterHealth.Failed ? "rolled back" : null),
            health, null, cause is null ? 0 : 1, retryAt, applying);

    private static Dictionary<string, ClusterAction> Plan(FederationRevision desired, params ClusterObservation[] observed) =>
        FederationPlanner.Plan(desired, observed.ToDictionary(o => o.Cluster), Now).ToDictionary(s => s.Cluster, s => s.Action);

    [Fact]
    public void Converged_EveryClusterRunsTheRevisionHealthy_NothingToDo()
    {
        var plan = Plan(Revision(3, ordered: true, "a", "b"), Seen("a", 3, ClusterHealth.Healthy), Seen("b", 3, ClusterHealth.Healthy));
        Assert.All(plan.Values, a => Assert.Equal(ClusterAction.None, a));
    }

    [Fact]
    public void Parallel_EveryClusterBehind_GetsTheRevisionAtOnce()
    {
        var plan = Plan(Revision(2, ordered: false, "a", "b", "c"), Seen("a", 1, ClusterHealth.Healthy), Seen("b", 1, ClusterHealth.Healthy));
        Assert.Equal([ClusterAction.Apply, ClusterAction.Apply, ClusterAction.Apply], new[] { plan["a"], plan["b"], plan["c"] });
    }

    [Fact]
    public void Parallel_AnUnreachableCluster_WaitsForItsBackoff_AndTheOthersGo()
    {
        var plan = Plan(Revision(2, ordered: false, "a", "b"), Seen("a", 1, ClusterHealth.Healthy, cause: "no socket", retryAt: Now.AddSeconds(4)), Seen("b", 1, ClusterHealth.Healthy));
        Assert.Equal(ClusterAction.Wait, plan["a"]);
        Assert.Equal(ClusterAction.Apply, plan["b"]);
    }

    [Fact]
    public void AnUnreachableCluster_IsTriedAgain_OnceItsBackoffIsOver()
    {
        var plan = Plan(Revision(2, ordered: false, "a"), Seen("a", 1, ClusterHealth.Healthy, cause: "no socket", retryAt: Now.AddSeconds(-1)));
        Assert.Equal(ClusterAction.Apply, plan["a"]);
    }

    [Theory]
    [InlineData(ClusterHealth.Progressing, ClusterAction.Hold)]
    [InlineData(ClusterHealth.Healthy, ClusterAction.Apply)]
    [InlineData(ClusterHealth.Failed, ClusterAction.Halted)]
    public void Ordered_TheSecondCluster_FollowsTheCanarysVerdict(ClusterHealth canary, ClusterAction second)
    {
        var plan = Plan(Revision(2, ordered: true, "a", "b", "c"), Seen("a", 2, canary), Seen("b", 1, ClusterHealth.Healthy), Seen("c", 1, ClusterHealth.Healthy));
        Assert.Equal(ClusterAction.None, plan["a"]);
        Assert.Equal(second, plan["b"]);
        Assert.Equal(canary == ClusterHealth.Failed ? ClusterAction.Halted : ClusterAction.Hold, plan["c"]);
    }

    [Fact]
    public void Ordered_TheCanaryNotReleasedYet_IsTheOnlyOneThatGoes()
    {
        var plan = Plan(Revision(2, ordered: true, "a", "b"), Seen("a", 1, ClusterHealth.Healthy), Seen("b", 1, ClusterHealth.Healthy));
        Assert.Equal(ClusterAction.Apply, plan["a"]);
        Assert.Equal(ClusterAction.Hold, plan["b"]);
    }

    [Fact]
    public void Ordered_AnUnreachableCanary_HoldsTheRest()
    {
        var plan = Plan(Revision(2, ordered: true, "a", "b"), Seen("a", 1, ClusterHealth.Healthy, cause: "refused", retryAt: Now.AddSeconds(5)), Seen("b", 1, ClusterHealth.Healthy));
        Assert.Equal(ClusterAction.Wait, plan["a"]);
        Assert.Equal(ClusterAction.Hold, plan["b"]);
    }

    [Fact]
    public void Ordered_AnUnreachableClusterAfterTheCanary_IsPassedOver()
    {
        var plan = Plan(Revision(2, ordered: true, "a", "b", "c"),
            Seen("a", 2, ClusterHealth.Healthy), Seen("b", 1, ClusterHealth.Healthy, cause: "refused", retryAt: Now.AddSeconds(5)), Seen("c", 1, ClusterHealth.Healthy));
        Assert.Equal(ClusterAction.Wait, plan["b"]);
        Assert.Equal(ClusterAction.Apply, plan["c"]);
    }

    [Fact]
    public void Ordered_AFailureAfterTheCanary_StopsTheClustersAfterIt()
    {
        var plan = Plan(Revision(2, ordered: true, "a", "b", "c"), Seen("a", 2, ClusterHealth.Healthy), Seen("b", 2, ClusterHealth.Failed), Seen("c", 1, ClusterHealth.Healthy));
        Assert.Equal(ClusterAction.Halted, plan["c"]);
    }

    [Fact]
    public void AClusterBeingApplied_IsNotAppliedTwice()
    {
        var plan = Plan(Revision(2, ordered: false, "a"), Seen("a", 1, ClusterHealth.Healthy, applying: true));
        Assert.Equal(ClusterAction.Applying, plan["a"]);
    }

    [Fact]
    public void AClusterNeverSeen_GetsTheRevision()
    {
        var plan = Plan(Revision(1, ordered: false, "new"));
        Assert.Equal(ClusterAction.Apply, plan["new"]);
    }

    [Theory]
    [InlineData(0, 0)]
    [InlineData(1, 1)]
    [InlineData(2, 2)]
    [InlineData(3, 4)]
    [InlineData(6, 30)]
    [InlineData(60, 30)]
    public void Backoff_DoublesFromTheFirst_UpToTheMost(int failures, int seconds) =>
        Assert.Equal(TimeSpan.FromSeconds(seconds), FederationPlanner.Backoff(failures, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30)));
}
