using Flotilla.Controllers.InstanceSets;
using Flotilla.Model;
using Flotilla.Runtime;

namespace Flotilla.Tests.Controllers;

/// <summary>The reconciler is a pure function: each case is desired + observed + history in, a plan out.</summary>
public sealed class InstanceSetPlannerTests
{
    private static readonly DateTimeOffset Now = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private static readonly Dictionary<string, ServiceHealth> NoHistory = [];
    private int _ids;

    private static DesiredService Service(string name, int instances, string revision = "rev1", params string[] dependsOn) =>
        new(name, revision, instances, ["app"], new Dictionary<string, string>(), new HttpSpec(null, "/healthz", "/ready"),
            TimeoutsSpec.Default, RestartSpec.Default, dependsOn);

    private InstanceStatus Instance(string service, InstanceState state, string revision = "rev1", int ageSeconds = 60, bool stopRequested = false) =>
        new($"{service}-{++_ids}", service, revision, 1000 + _ids, null, 5000 + _ids, state, Now.AddSeconds(-ageSeconds),
            state == InstanceState.Ready ? Now.AddSeconds(-ageSeconds + 1) : null, state == InstanceState.Ready, stopRequested, null, null, "/dev/null");

    private static ReconcilePlan Plan(IEnumerable<DesiredService> desired, IEnumerable<InstanceStatus> observed, IReadOnlyDictionary<string, ServiceHealth>? health = null) =>
        InstanceSetPlanner.Plan(desired.ToList(), observed.ToList(), health ?? NoHistory, Now);

    [Fact]
    public void ConvergedSystem_YieldsEmptyPlan()
    {
        var plan = Plan([Service("api", 2), Service("db", 1)],
            [Instance("api", InstanceState.Ready), Instance("api", InstanceState.Ready), Instance("db", InstanceState.Ready)]);
        Assert.True(plan.IsEmpty);
        Assert.Empty(plan.Waiting);
    }

    [Fact]
    public void StartingInstances_CountAsPresent_SoNothingIsStartedTwice()
    {
        var plan = Plan([Service("api", 2)], [Instance("api", InstanceState.Starting), Instance("api", InstanceState.Starting)]);
        Assert.True(plan.IsEmpty);
    }

    [Fact]
    public void EmptySystem_StartsEveryInstance()
    {
        var plan = Plan([Service("api", 3)], []);
        Assert.Equal(3, plan.Starts.Count);
        Assert.All(plan.Starts, s => Assert.Equal(new StartInstance("api", "rev1"), s));
    }

    [Fact]
    public void KilledInstance_IsForgottenAsFailure_AndReplacedAtOnce()
    {
        var dead = Instance("api", InstanceState.Exited) with { ExitCode = 137, Reason = "killed by SIGKILL", WasReady = true, ReadySince = Now.AddSeconds(-50) };
        var plan = Plan([Service("api", 2)], [Instance("api", InstanceState.Ready), dead]);

        var forget = Assert.Single(plan.Forgets);
        Assert.Equal(dead.Id, forget.InstanceId);
        Assert.True(forget.Failure);
        Assert.True(forget.AfterStableRun);
        Assert.Single(plan.Starts);
    }

    [Fact]
    public void InstanceWeStopped_IsForgottenWithoutCountingAFailure()
    {
        var stopped = Instance("api", InstanceState.Exited, stopRequested: true);
        var plan = Plan([Service("api", 1)], [Instance("api", InstanceState.Ready), stopped]);
        Assert.False(Assert.Single(plan.Forgets).Failure);
        Assert.Empty(plan.Starts);
    }

    [Fact]
    public void ScaleUp_StartsTheDifference()
    {
        var plan = Plan([Service("api", 5)], [Instance("api", InstanceState.Ready), Instance("api", InstanceState.Ready)]);
        Assert.Equal(3, plan.Starts.Count);
        Assert.Empty(plan.Stops);
    }

    [Fact]
    public void ScaleDown_StopsNotReadyFirst_ThenTheYoungest()
    {
        var oldest = Instance("api", InstanceState.Ready, ageSeconds: 300);
        var young = Instance("api", InstanceState.Ready, ageSeconds: 10);
        var starting = Instance("api", InstanceState.Starting, ageSeconds: 1000);
        var plan = Plan([Service("api", 1)], [oldest, young, starting]);

        Assert.Equal([starting.Id, young.Id], plan.Stops.Select(s => s.InstanceId));
        Assert.All(plan.Stops, s => Assert.False(s.Failure));
    }

    [Fact]
    public void ScaleToZero_StopsAll()
    {
        var plan = Plan([Service("api", 0)], [Instance("api", InstanceState.Ready), Instance("api", InstanceState.Starting)]);
        Assert.Equal(2, plan.Stops.Count);
    }

    [Fact]
    public void UnhealthyInstance_IsStoppedAsFailure_AndReplacedInParallel()
    {
        var sick = Instance("api", InstanceState.Unhealthy) with { Reason = "liveness probe /healthz failed 3 times in a row" };
        var plan = Plan([Service("api", 2)], [Instance("api", InstanceState.Ready), sick]);

        var stop = Assert.Single(plan.Stops);
        Assert.Equal(sick.Id, stop.InstanceId);
        Assert.True(stop.Failure);
        Assert.Single(plan.Starts);
    }

    [Fact]
    public void StoppingInstances_AreNotCounted_NorStoppedAgain()
    {
        var plan = Plan([Service("api", 1)], [Instance("api", InstanceState.Stopping, stopRequested: true)]);
        Assert.Single(plan.Starts);
        Assert.Empty(plan.Stops);
    }

    [Fact]
    public void RemovedService_HasItsInstancesStopped()
    {
        var plan = Plan([Service("api", 1)], [Instance("api", InstanceState.Ready), Instance("gone", InstanceState.Ready)]);
        Assert.Equal("gone", Assert.Single(plan.Stops).Service);
    }

    [Theory]
    [InlineData(1, 0.0, true)]    // first failure: restart immediately
    [InlineData(2, 0.5, false)]   // second in a row: wait 1s
    [InlineData(2, 1.0, true)]
    [InlineData(4, 3.0, false)]   // fourth: wait 4s
    [InlineData(4, 4.0, true)]
    public void CrashLoop_BacksOffExponentially(int failures, double secondsSinceFailure, bool starts)
    {
        var health = new Dictionary<string, ServiceHealth> { ["api"] = new(failures, failures, Now.AddSeconds(-secondsSinceFailure), "exited with code 1") };
        var plan = Plan([Service("api", 1)], [], health);

        Assert.Equal(starts, plan.Starts.Count == 1);
        if (!starts)
        {
            Assert.StartsWith("crash loop", plan.Waiting["api"], StringComparison.Ordinal);
            Assert.NotNull(plan.WakeAt);
        }
    }

    [Fact]
    public void ExitSeenInThisPass_CountsTowardTheBackoff_BeforeAnythingStarts()
    {
        var health = new Dictionary<string, ServiceHealth> { ["api"] = new(1, 1, Now.AddMilliseconds(-100), "exited with code 1") };
        var crashed = Instance("api", InstanceState.Exited) with { Reason = "exited with code 1" };
        var plan = Plan([Service("api", 1)], [crashed], health);

        Assert.Empty(plan.Starts);
        Assert.StartsWith("crash loop: 2 failures in a row", plan.Waiting["api"], StringComparison.Ordinal);
        Assert.Equal(2, plan.Health["api"].ConsecutiveFailures);
        Assert.Equal(Now + TimeSpan.FromSeconds(1), plan.WakeAt);
    }

    [Fact]
    public void ARevisionIsNotHeldBack_ByTheCrashLoopOfAnother_AndStartsItsOwnCount()
    {
        // rev-bad crashed four times in a row, 1 s ago (its back-off: 4 s); rev-good is applied now.
        var health = new Dictionary<string, ServiceHealth> { ["api"] = new(4, 4, Now.AddSeconds(-1), "exited with code 3", "rev-bad") };
        var plan = Plan([Service("api", 1, "rev-good")], [], health);
        Assert.Equal("rev-good", Assert.Single(plan.Starts).Revision);

        // The same revision stays held back; a failure of the new one counts from 1.
        Assert.StartsWith("crash loop: 4 failures", Plan([Service("api", 1, "rev-bad")], [], health).Waiting["api"], StringComparison.Ordinal);
        var crashed = Instance("api", InstanceState.Exited, "rev-good") with { Reason = "exited with code 1" };
        Assert.Equal((1, "rev-good"), (Plan([Service("api", 1, "rev-good")], [crashed], health).Health["api"] is var h ? (h.ConsecutiveFailures, h.Revision) : default));
    }

    [Fact]
    public void DependentService_WaitsUntilItsDependencyHasAReadyInstance()
    {
        var desired = new[] { Service("db", 1), Service("api", 2, "rev1", "db") };
        var waiting = Plan(desired, [Instance("db", InstanceState.Starting)]);
        Assert.Empty(waiting.Starts);
        Assert.Contains("waiting for db", waiting.Waiting["api"], StringComparison.Ordinal);

        var ready = Plan(desired, [Instance("db", InstanceState.Ready)]);
        Assert.Equal(2, ready.Starts.Count);
    }

    [Fact]
    public void DependencyGate_DoesNotStopAServiceThatIsAlreadyRunning()
    {
        var plan = Plan([Service("db", 1), Service("api", 2, "rev1", "db")],
            [Instance("db", InstanceState.Starting), Instance("api", InstanceState.Ready)]);
        Assert.Single(plan.Starts);
        Assert.Equal("api", plan.Starts[0].Service);
    }

    [Fact]
    public void NewRevision_SurgesOneInstance_WithoutStoppingReadyOldOnes()
    {
        var old = Enumerable.Range(0, 3).Select(_ => Instance("api", InstanceState.Ready, "rev1")).ToList();
        var plan = Plan([Service("api", 3, "rev2")], old);

        Assert.Equal(new StartInstance("api", "rev2"), Assert.Single(plan.Starts));
        Assert.Empty(plan.Stops);
    }

    [Fact]
    public void NewRevision_StopsOneOldInstance_OnceANewOneIsReady()
    {
        var observed = Enumerable.Range(0, 3).Select(_ => Instance("api", InstanceState.Ready, "rev1")).Append(Instance("api", InstanceState.Ready, "rev2")).ToList();
        var plan = Plan([Service("api", 3, "rev2")], observed);

        var stop = Assert.Single(plan.Stops);
        Assert.Equal("rev1", observed.Single(i => i.Id == stop.InstanceId).Revision);
        Assert.Empty(plan.Starts);
    }

    [Fact]
    public void NewRevision_ThatIsNotReadyYet_KeepsAllOldInstances()
    {
        var observed = Enumerable.Range(0, 3).Select(_ => Instance("api", InstanceState.Ready, "rev1")).Append(Instance("api", InstanceState.Starting, "rev2")).ToList();
        Assert.True(Plan([Service("api", 3, "rev2")], observed).IsEmpty);
    }

    [Fact]
    public void SingleInstanceService_IsNeverWithoutAReadyInstanceDuringARevisionChange()
    {
        // Walk the whole replacement of a 1-instance service and check every intermediate plan.
        var observed = new List<InstanceStatus> { Instance("api", InstanceState.Ready, "rev1") };
        var desired = new[] { Service("api", 1, "rev2") };
        for (var step = 0; step < 10 && observed.Any(i => i.Revision == "rev1"); step++)
        {
            var plan = Plan(desired, observed);
            observed.RemoveAll(i => plan.Stops.Any(s => s.InstanceId == i.Id));
            Assert.Contains(observed, i => i.InRotation);
            observed.AddRange(plan.Starts.Select(_ => Instance("api", InstanceState.Ready, "rev2")));
        }
        Assert.All(observed, i => Assert.Equal("rev2", i.Revision));
        Assert.Single(observed);
    }
}
