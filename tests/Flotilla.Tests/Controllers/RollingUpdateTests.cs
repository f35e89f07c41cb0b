using Flotilla.Controllers.InstanceSets;
using Flotilla.Model;
using Flotilla.Runtime;

namespace Flotilla.Tests.Controllers;

/// <summary>Rolling-update arithmetic (Kubernetes' rounding) and the planner's steps, as tables of cases.</summary>
public sealed class RollingUpdateTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private int _ids;

    [Theory]
    // maxSurge, maxUnavailable, instances -> surge, unavailable
    [InlineData("25%", "0", 1, 1, 0)]      // the default: a 1-instance service gets a surge of 1, never 0 available
    [InlineData("25%", "0", 3, 1, 0)]
    [InlineData("25%", "0", 10, 3, 0)]     // surge rounds up
    [InlineData("25%", "25%", 10, 3, 2)]   // unavailable rounds down
    [InlineData("25%", "25%", 3, 1, 0)]
    [InlineData("0", "1", 3, 0, 1)]
    [InlineData("0%", "10%", 3, 0, 1)]     // both round to 0: one may be unavailable, or nothing could move
    [InlineData("2", "50%", 5, 2, 2)]
    [InlineData("100%", "0", 4, 4, 0)]     // blue-green-like: all new first
    [InlineData("25%", "0", 0, 0, 1)]      // no instance: both round to 0, so one may be unavailable, as in any other case
    public void Bounds_AreRoundedAsKubernetesDoes(string surge, string unavailable, int instances, int expectedSurge, int expectedUnavailable)
    {
        var rollout = RolloutSpec.Default with { MaxSurge = Amount(surge), MaxUnavailable = Amount(unavailable) };
        var resolved = rollout.Resolve(instances);
        Assert.Equal((expectedSurge, expectedUnavailable), resolved);
    }

    private static RolloutAmount Amount(string text) =>
        text.EndsWith('%') ? RolloutAmount.Percent(int.Parse(text[..^1], System.Globalization.CultureInfo.InvariantCulture)) : RolloutAmount.Count(int.Parse(text, System.Globalization.CultureInfo.InvariantCulture));

    private static DesiredService Service(int instances, RolloutSpec? rollout = null, bool paused = false) =>
        new("api", "v2", instances, ["app"], new Dictionary<string, string>(), new HttpSpec(null, null, null),
            TimeoutsSpec.Default, RestartSpec.Default, [], null, null, rollout, paused);

    private InstanceStatus Instance(string revision, InstanceState state = InstanceState.Ready, int readyForSeconds = 60) =>
        new($"api-{++_ids}", "api", revision, 1000 + _ids, null, 5000 + _ids, state, Now.AddSeconds(-readyForSeconds - 1),
            state == InstanceState.Ready ? Now.AddSeconds(-readyForSeconds) : null, state == InstanceState.Ready, false, null, null, "/dev/null");

    private static ReconcilePlan Plan(DesiredService service, params InstanceStatus[] observed) =>
        InstanceSetPlanner.Plan([service], observed, new Dictionary<string, ServiceHealth>(), Now);

    [Fact]
    public void Default_StartsOneNew_AndStopsNothing_UntilItIsReady()
    {
        var plan = Plan(Service(3), Instance("v1"), Instance("v1"), Instance("v1"));
        Assert.Equal("v2", Assert.Single(plan.Starts).Revision);
        Assert.Empty(plan.Stops);

        var starting = Plan(Service(3), Instance("v1"), Instance("v1"), Instance("v1"), Instance("v2", InstanceState.Starting));
        Assert.True(starting.IsEmpty);

        var ready = Plan(Service(3), Instance("v1"), Instance("v1"), Instance("v1"), Instance("v2"));
        Assert.Single(ready.Stops);
        Assert.Empty(ready.Starts);   // 4 live = 3 + surge 1

        var next = Plan(Service(3), Instance("v1"), Instance("v1"), Instance("v2"));   // the stopped one left
        Assert.Single(next.Starts);
    }

    [Fact]
    public void MinReady_KeepsOldInstances_UntilTheNewOneHasBeenReadyLongEnough_AndWakesThen()
    {
        var service = Service(1, RolloutSpec.Default with { MinReady = TimeSpan.FromSeconds(5) });
        var plan = Plan(service, Instance("v1"), Instance("v2", readyForSeconds: 2));
        Assert.Empty(plan.Stops);
        Assert.Equal(Now.AddSeconds(3), plan.WakeAt);

        var later = Plan(service, Instance("v1"), Instance("v2", readyForSeconds: 6));
        Assert.Single(later.Stops);
    }

    [Fact]
    public void MaxUnavailable_WithoutSurge_StopsFirst_ThenStarts()
    {
        var service = Service(3, RolloutSpec.Default with { MaxSurge = RolloutAmount.Count(0), MaxUnavailable = RolloutAmount.Count(1) });
        var first = Plan(service, Instance("v1"), Instance("v1"), Instance("v1"));
        Assert.Single(first.Stops);
        Assert.Empty(first.Starts);

        // The stopped one is gone (stopping instances are not live): one new may start.
        var second = Plan(service, Instance("v1"), Instance("v1"));
        Assert.Single(second.Starts);
        Assert.Empty(second.Stops);
    }

    [Fact]
    public void A100PercentSurge_StartsEveryNewInstanceAtOnce()
    {
        var plan = Plan(Service(4, RolloutSpec.Default with { MaxSurge = RolloutAmount.Percent(100) }), Instance("v1"), Instance("v1"), Instance("v1"), Instance("v1"));
        Assert.Equal(4, plan.Starts.Count);
        Assert.Empty(plan.Stops);
    }

    [Fact]
    public void APausedRollout_HoldsWhereItIs_AndSaysSo()
    {
        var plan = Plan(Service(3, paused: true), Instance("v1"), Instance("v1"), Instance("v2"));
        Assert.True(plan.IsEmpty);
        Assert.StartsWith("rollout paused: 1 of 3 on revision v2", plan.Waiting["api"], StringComparison.Ordinal);
        // Paused with nothing to roll: self-healing goes on.
        Assert.Single(Plan(Service(2, paused: true), Instance("v2")).Starts);
    }

    [Fact]
    public void TheSpec_ReadsRolloutSettings_AndRefusesBothZero()
    {
        var spec = SpecLoader.Parse("name: s\nservices:\n  api:\n    command: [x]\n    rollout: { strategy: rolling, maxSurge: 50%, maxUnavailable: 1, minReady: 0s, progressDeadline: 30s, history: 3 }\n", "/tmp/flotilla.yaml");
        Assert.Equal(new RolloutSpec(RolloutAmount.Percent(50), RolloutAmount.Count(1), TimeSpan.Zero, TimeSpan.FromSeconds(30), 3), spec.Services[0].Rollout);
        var history = Assert.Throws<SpecException>(() => SpecLoader.Parse("name: s\nservices:\n  api:\n    command: [x]\n    rollout: { history: 0 }\n", "/tmp/flotilla.yaml"));
        Assert.Contains("a number of revisions to keep for undo (1 to 100), got 0", Assert.Single(history.Errors).Message, StringComparison.Ordinal);

        var e = Assert.Throws<SpecException>(() => SpecLoader.Parse("name: s\nservices:\n  api:\n    command: [x]\n    rollout: { maxSurge: 0, maxUnavailable: 0%, strategy: recreate, progressDeadline: soon }\n", "/tmp/flotilla.yaml"));
        Assert.Contains(e.Errors, x => x.Message == "maxSurge and maxUnavailable cannot both be 0: nothing could ever be replaced");
        Assert.Contains(e.Errors, x => x.Message.StartsWith("'recreate' is not a strategy; strategies: rolling, canary, blueGreen", StringComparison.Ordinal));
        Assert.Contains(e.Errors, x => x.Path == "services.api.rollout.progressDeadline");
        var amount = Assert.Throws<SpecException>(() => SpecLoader.Parse("name: s\nservices:\n  api:\n    command: [x]\n    rollout: { maxSurge: 150% }\n", "/tmp/flotilla.yaml"));
        Assert.Contains("a percentage of them (e.g. 25%), got '150%'", Assert.Single(amount.Errors).Message, StringComparison.Ordinal);
    }
}
