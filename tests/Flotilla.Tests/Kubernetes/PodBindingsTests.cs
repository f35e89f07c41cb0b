using Flotilla.Runtime.Kubernetes;

namespace Flotilla.Tests.Kubernetes;

/// <summary>How instances follow pods: a table of what the API server reports and what the bindings become.</summary>
public sealed class PodBindingsTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 0, 0, 0, TimeSpan.Zero);

    private static ObservedPod Pod(string name, bool terminating = false, int age = 0) =>
        new(name, "web", "r1", "10.0.0.1", "Running", true, terminating, Now.AddSeconds(age), "n1", null, null, null);

    private static PodBinding Bound(string id, string? pod, bool leaving = false) => new(id, "web", "r1", pod, leaving, Now);

    [Fact]
    public void APodReplaced_HandsItsInstanceToTheReplacement()
    {
        var result = PodBindings.Rebind([Bound("a", "p1"), Bound("b", "p2")], [Pod("p1", terminating: true), Pod("p2"), Pod("p3", age: 5)], Now);
        Assert.Equal([("a", "p3"), ("b", "p2")], result.Select(b => (b.InstanceId, b.Pod!)).OrderBy(x => x.InstanceId));
        Assert.DoesNotContain(result, b => b.Gone);
    }

    [Fact]
    public void TheReplicaSetRemovingAnotherPod_SwapsBindings_SoTheDrainedInstanceEnds()
    {
        var removing = PodBindings.Rebind([Bound("a", "p1"), Bound("b", "p2", leaving: true)], [Pod("p1", terminating: true), Pod("p2")], Now);
        Assert.Equal(("p2", "p1"), (removing.Single(b => b.InstanceId == "a").Pod, removing.Single(b => b.InstanceId == "b").Pod));
        Assert.False(removing.Single(b => b.InstanceId == "b").Gone);
        var removed = PodBindings.Rebind(removing, [Pod("p2")], Now);
        Assert.True(removed.Single(b => b.InstanceId == "b").Gone);
        Assert.Equal(("p2", false), (removed.Single(b => b.InstanceId == "a").Pod, removed.Single(b => b.InstanceId == "a").Gone));
    }

    [Fact]
    public void PodsNobodyStarted_AreAdopted_AndWaitingInstancesTakeNewPodsOldestFirst()
    {
        var adopted = PodBindings.Rebind([], [Pod("flotilla-x-web-r1-abcde"), Pod("flotilla-x-web-r1-fghij")], Now);
        Assert.Equal(["web-r1-abcde", "web-r1-fghij"], adopted.Select(b => b.InstanceId).Order());
        var waiting = PodBindings.Rebind([Bound("a", null) with { StartedAt = Now.AddSeconds(1) }, Bound("b", null)], [Pod("p1", age: 2), Pod("p2", age: 1)], Now);
        Assert.Equal([("a", "p1"), ("b", "p2")], waiting.Select(b => (b.InstanceId, b.Pod!)).OrderBy(x => x.InstanceId));
    }
}
