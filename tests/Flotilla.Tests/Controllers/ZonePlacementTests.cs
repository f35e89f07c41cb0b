using Flotilla.Controllers.InstanceSets;
using Flotilla.Model;
using Flotilla.Runtime;

namespace Flotilla.Tests.Controllers;

/// <summary>Spreading over failure domains, as pure planner cases: place, fail over, re-spread surge-first.</summary>
public sealed class ZonePlacementTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private int _ids;

    private static DesiredService Service(int instances, params string[] zones) =>
        new("api", "rev1", instances, ["app"], new Dictionary<string, string>(), new HttpSpec(null, null, null),
            TimeoutsSpec.Default, RestartSpec.Default, [], null, zones);

    private InstanceStatus In(string zone, InstanceState state = InstanceState.Ready, int ageSeconds = 60) =>
        new($"api-{++_ids}", "api", "rev1", 1000 + _ids, null, 5000 + _ids, state, Now.AddSeconds(-ageSeconds),
            state == InstanceState.Ready ? Now.AddSeconds(-ageSeconds) : null, state == InstanceState.Ready, false, null, null, "/dev/null", zone);

    private static ReconcilePlan Plan(DesiredService service, params InstanceStatus[] observed) =>
        InstanceSetPlanner.Plan([service], observed, new Dictionary<string, ServiceHealth>(), Now);

    [Fact]
    public void NewInstances_AreSpreadEvenly_InDeclaredOrder()
    {
        var plan = Plan(Service(7, "a", "b", "c"));
        Assert.Equal(["a", "b", "c", "a", "b", "c", "a"], plan.Starts.Select(s => s.Zone));
    }

    [Fact]
    public void AReplacement_GoesToTheZoneThatLostOne()
    {
        var plan = Plan(Service(3, "a", "b", "c"), In("a"), In("c"));
        Assert.Equal("b", Assert.Single(plan.Starts).Zone);
    }

    [Fact]
    public void AZoneMarkedDown_HasItsInstancesStopped_AndReplacedInTheOthers_AtOnce()
    {
        var inB = In("b");
        // Zone b is down: the controller is handed only a and c.
        var plan = Plan(Service(3, "a", "c"), In("a"), inB, In("c"));
        var stop = Assert.Single(plan.Stops);
        Assert.Equal(inB.Id, stop.InstanceId);
        Assert.Equal("zone b is not available", stop.Reason);
        Assert.Contains(Assert.Single(plan.Starts).Zone, new[] { "a", "c" });
    }

    [Fact]
    public void AZoneThatComesBack_GetsAnInstanceFirst_AndTheFullestZoneGivesOneUpOnlyOnceItIsReady()
    {
        var a1 = In("a", ageSeconds: 100);
        var a2 = In("a", ageSeconds: 50);
        var c1 = In("c");
        var service = Service(3, "a", "b", "c");

        var surge = Plan(service, a1, a2, c1);
        Assert.Equal("b", Assert.Single(surge.Starts).Zone);
        Assert.Empty(surge.Stops);

        var starting = In("b", InstanceState.Starting, ageSeconds: 1);
        var settling = Plan(service, a1, a2, c1, starting);
        Assert.True(settling.IsEmpty, "nothing goes while the new instance is not ready");

        var ready = starting with { State = InstanceState.Ready, WasReady = true, ReadySince = Now };
        var settle = Plan(service, a1, a2, c1, ready);
        var stop = Assert.Single(settle.Stops);
        Assert.Equal(a2.Id, stop.InstanceId);   // from the fullest zone, the youngest
        Assert.Empty(settle.Starts);

        Assert.True(Plan(service, a1, c1, ready).IsEmpty);
    }

    [Fact]
    public void ScalingDown_TakesFromTheFullestZones()
    {
        var plan = Plan(Service(3, "a", "b", "c"), In("a"), In("a"), In("b"), In("b"), In("c"));
        Assert.Equal(["a", "b"], plan.Stops.Select(s => s.InstanceId).Select(id => id switch { "api-1" or "api-2" => "a", "api-3" or "api-4" => "b", _ => "c" }).Order());
    }

    [Fact]
    public void WithoutZones_NothingIsPlacedOrMoved()
    {
        var plan = Plan(Service(2), In(null!), In(null!));
        Assert.True(plan.IsEmpty);
        var starts = Plan(Service(2)).Starts;
        Assert.Equal(2, starts.Count);
        Assert.All(starts, s => Assert.Null(s.Zone));
    }
}
