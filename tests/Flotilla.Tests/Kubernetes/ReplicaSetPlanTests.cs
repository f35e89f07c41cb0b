using Flotilla.Model;
using Flotilla.Runtime;
using Flotilla.Runtime.Kubernetes;

namespace Flotilla.Tests.Kubernetes;

/// <summary>What the driver asks of the API server, as a table: a scale-down waits for the drained pod's mark; emptied ReplicaSets go once their pods have.</summary>
public sealed class ReplicaSetPlanTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 0, 0, 0, TimeSpan.Zero);
    private static readonly string Name = ReplicaSets.Name("o", "web", "r1");
    private static readonly HashSet<string> None = [];

    private static ObservedPod Pod(string name, string? cost = null) => new(name, "web", "r1", "10.0.0.1", "Running", true, false, Now, "n1", null, null, cost);

    private static PodBinding Bound(string id, string? pod, bool leaving = false) => new(id, "web", "r1", pod, leaving, Now);

    private static ReplicaSetApi.Listed Listed(int replicas) => new(Name, "web", "r1", replicas, "/ready");

    private static Dictionary<string, ObservedPod> Pods(params ObservedPod[] pods) => pods.ToDictionary(p => p.Name);

    [Fact]
    public void AScaleDown_MarksTheDrainedPodFirst_AndScalesOnceTheMarkIsSeen()
    {
        var bindings = new[] { Bound("a", "p1"), Bound("b", "p2", leaving: true) };
        var first = ReplicaSetPlan.Plan("o", bindings, [Listed(2)], Pods(Pod("p1"), Pod("p2")), new Dictionary<string, InstanceLaunch>(), None);
        Assert.Equal(["p2"], first.Marks);
        Assert.Empty(first.Scales);
        Assert.True(first.Deferred);

        var marked = ReplicaSetPlan.Plan("o", bindings, [Listed(2)], Pods(Pod("p1"), Pod("p2", ReplicaSets.DrainedCost)), new Dictionary<string, InstanceLaunch>(), None);
        Assert.Equal([(Name, 1)], marked.Scales);
        Assert.Empty(marked.Marks);
    }

    [Fact]
    public void ToZero_ScalesWithoutMarks_ThenDeletesOnceNoPodIsLeft()
    {
        var bindings = new[] { Bound("a", "p1", leaving: true) };
        Assert.Equal([(Name, 0)], ReplicaSetPlan.Plan("o", bindings, [Listed(1)], Pods(Pod("p1")), new Dictionary<string, InstanceLaunch>(), None).Scales);
        Assert.Empty(ReplicaSetPlan.Plan("o", bindings, [Listed(0)], Pods(Pod("p1")), new Dictionary<string, InstanceLaunch>(), None).Deletions);
        Assert.Single(ReplicaSetPlan.Plan("o", bindings, [Listed(0)], Pods(), new Dictionary<string, InstanceLaunch>(), None).Deletions);
    }

    [Fact]
    public void ANewRevision_IsCreatedWithItsCount_OnlyWhenItsLaunchIsKnown()
    {
        var launch = new InstanceLaunch("a", "web", "r1", ["serve"], new Dictionary<string, string>(), 0, new HttpSpec(null, null, null), TimeSpan.FromSeconds(5), Image: "x:1");
        var bindings = new[] { Bound("a", null), Bound("b", null) };
        Assert.Equal([("a", 2)], ReplicaSetPlan.Plan("o", bindings, [], Pods(), new Dictionary<string, InstanceLaunch> { [Name] = launch }, None).Creations.Select(c => (c.Launch.Id, c.Replicas)));
        Assert.Empty(ReplicaSetPlan.Plan("o", bindings, [], Pods(), new Dictionary<string, InstanceLaunch>(), None).Creations);
    }

    [Fact]
    public void AServingPodWithTheMark_IsUnmarked_AndNoScaleDownUntilTheMarkIsGone()
    {
        // After a swap or a restart: "a" serves from a marked pod while "b" is being stopped.
        var bindings = new[] { Bound("a", "p1"), Bound("b", "p2", leaving: true) };
        var swapped = ReplicaSetPlan.Plan("o", bindings, [Listed(2)], Pods(Pod("p1", ReplicaSets.DrainedCost), Pod("p2", ReplicaSets.DrainedCost)), new Dictionary<string, InstanceLaunch>(), None);
        Assert.Equal(["p1"], swapped.Unmarks);
        Assert.Empty(swapped.Scales);
        Assert.True(swapped.Deferred);

        var unmarked = ReplicaSetPlan.Plan("o", bindings, [Listed(2)], Pods(Pod("p1"), Pod("p2", ReplicaSets.DrainedCost)), new Dictionary<string, InstanceLaunch>(), None);
        Assert.Empty(unmarked.Unmarks);
        Assert.Equal([(Name, 1)], unmarked.Scales);

        // With nothing to scale down it is unmarked all the same; a pod whose cost cannot be set holds nothing up.
        var steady = ReplicaSetPlan.Plan("o", [Bound("a", "p1")], [Listed(1)], Pods(Pod("p1", ReplicaSets.DrainedCost)), new Dictionary<string, InstanceLaunch>(), None);
        Assert.Equal(["p1"], steady.Unmarks);
        Assert.Empty(ReplicaSetPlan.Plan("o", bindings, [Listed(2)], Pods(Pod("p1", ReplicaSets.DrainedCost), Pod("p2", ReplicaSets.DrainedCost)), new Dictionary<string, InstanceLaunch>(), new HashSet<string> { "p1" }).Unmarks);
    }
}
