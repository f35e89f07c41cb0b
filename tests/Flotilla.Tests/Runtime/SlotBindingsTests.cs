using Flotilla.Runtime.Swarm;

namespace Flotilla.Tests.Runtime;

/// <summary>
/// How Flotilla's instances follow Swarm's slots: a table of what the manager reports and what the
/// bindings become. The case that matters most: Swarm shuts down another slot than the one Flotilla
/// drained, and the drained instance is the one that leaves.
/// </summary>
public sealed class SlotBindingsTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 0, 0, 0, TimeSpan.Zero);

    private static SwarmTask Task(int slot, string desired = "running", string state = "running", string id = "", string node = "n1", string revision = "r1") =>
        new(id.Length > 0 ? id : $"t{slot}", "svc-r1", "web", revision, slot, node, state, desired, null, 30000 + slot, Now, null);

    private static SlotBinding Bound(string id, int? slot, bool leaving = false, string revision = "r1") => new(id, "web", revision, slot, leaving, Now);

    [Fact]
    public void InstancesWaitingForASlot_TakeNewSlots_OldestFirst()
    {
        var bindings = new[] { Bound("a", 1), Bound("b", null) with { StartedAt = Now.AddSeconds(1) }, Bound("c", null) };
        var result = SlotBindings.Rebind(bindings, [Task(1), Task(2), Task(3)], Now);
        Assert.Equal([("a", 1), ("b", 3), ("c", 2)], result.Select(b => (b.InstanceId, b.Slot!.Value)).OrderBy(x => x.InstanceId));
    }

    [Fact]
    public void SlotsNobodyStarted_AreAdopted_UnderNamesOfTheirSlot()
    {
        var result = SlotBindings.Rebind([], [Task(1), Task(2)], Now);
        Assert.Equal(["web-r1-s1", "web-r1-s2"], result.Select(b => b.InstanceId).Order());
        Assert.All(result, b => Assert.False(b.Leaving));
    }

    [Fact]
    public void SwarmShuttingDownTheSlotFlotillaDrained_EndsThatInstance_OnceItsTaskEnded()
    {
        var bindings = new[] { Bound("a", 1), Bound("b", 2, leaving: true) };
        var stopping = SlotBindings.Rebind(bindings, [Task(1), Task(2, desired: "shutdown", state: "running")], Now);
        Assert.False(stopping.Single(b => b.InstanceId == "b").Gone);
        var ended = SlotBindings.Rebind(stopping, [Task(1), Task(2, desired: "shutdown", state: "shutdown")], Now);
        Assert.True(ended.Single(b => b.InstanceId == "b").Gone);
        Assert.False(ended.Single(b => b.InstanceId == "a").Gone);
    }

    [Fact]
    public void SwarmShuttingDownAnotherSlot_SwapsBindings_SoTheDrainedInstanceIsTheOneThatLeaves()
    {
        var bindings = new[] { Bound("a", 1), Bound("b", 2, leaving: true), Bound("c", 3) };
        var result = SlotBindings.Rebind(bindings, [Task(1), Task(2), Task(3, desired: "shutdown")], Now);
        var b = result.Single(x => x.InstanceId == "b");
        var c = result.Single(x => x.InstanceId == "c");
        Assert.Equal(3, b.Slot);
        Assert.True(b.Leaving);
        Assert.Equal(2, c.Slot);
        Assert.False(c.Leaving);
        Assert.Equal(1, result.Single(x => x.InstanceId == "a").Slot);
    }

    [Fact]
    public void ATaskReplacedInItsSlot_KeepsTheInstance()
    {
        var bindings = new[] { Bound("a", 1) };
        var result = SlotBindings.Rebind(bindings, [Task(1, desired: "shutdown", state: "failed", id: "old"), Task(1, state: "pending", id: "new", node: "n2")], Now);
        Assert.Equal([("a", 1, false)], result.Select(x => (x.InstanceId, x.Slot!.Value, x.Gone)));
    }

    [Fact]
    public void AServiceRemoved_EndsEveryInstanceOfIt()
    {
        var bindings = new[] { Bound("a", 1, leaving: true), Bound("b", 2, leaving: true) };
        var result = SlotBindings.Rebind(bindings, [], Now);
        Assert.All(result, x => Assert.True(x.Gone));
    }

    [Fact]
    public void Converged_ChangesNothing()
    {
        var bindings = new[] { Bound("a", 1), Bound("b", 2) };
        Assert.Equal(bindings, SlotBindings.Rebind(bindings, [Task(1), Task(2)], Now));
    }

    [Fact]
    public void Revisions_AreBoundApart()
    {
        var bindings = new[] { Bound("a", null, revision: "r1"), Bound("b", null, revision: "r2") };
        var result = SlotBindings.Rebind(bindings, [Task(1, revision: "r2")], Now);
        Assert.Null(result.Single(x => x.InstanceId == "a").Slot);
        Assert.Equal(1, result.Single(x => x.InstanceId == "b").Slot);
    }
}
