using Flotilla.Databases.Engines;
using Microsoft.Extensions.Time.Testing;

namespace Flotilla.Tests.Databases;

/// <summary>What the engine controller does for each server, from what it sees and the time: a table of scenarios.</summary>
public sealed class EnginePlannerTests
{
    private static readonly EngineMember Primary = new("pg", EngineMember.PrimaryRole, "/d/pg/primary", 5432, true);
    private static readonly EngineMember Replica = new("pg", "replica-1", "/d/pg/replica-1", 5433, false);
    private static readonly FakeTimeProvider Time = new(new DateTimeOffset(2026, 12, 5, 1, 0, 0, TimeSpan.Zero));
    private static DateTimeOffset Now => Time.GetUtcNow();

    // Standby: a replica's directory (standby.signal); a primary's flag is not looked at.
    private static MemberObservation Running(bool ready = true) => new(true, 100, ready, 0, null, Standby: true, InRecovery: ready ? false : null);

    private static MemberObservation Streaming(long lsn = 1000, int upstream = 5432) => new(true, 101, true, 0, null, Standby: true, InRecovery: true, ReceivedLsn: lsn, UpstreamPort: upstream);

    private static MemberObservation Stopped(int failures = 0, TimeSpan? ago = null) => new(true, null, false, failures, failures == 0 ? null : Now - (ago ?? TimeSpan.Zero), Standby: true);

    private static string Plan(params (EngineMember Member, MemberObservation Seen)[] observed) =>
        string.Join(", ", EnginePlanner.Plan([Primary, Replica], observed.ToDictionary(o => o.Member, o => o.Seen), Now).Select(a => $"{a.Kind} {a.Member.Role}"));

    [Fact]
    public void NewEngine_CreatesThePrimary_ThenTheReplicaOnceThePrimaryAnswers()
    {
        Assert.Equal("Initialize primary", Plan());
        Assert.Equal("", Plan((Primary, Running(ready: false))));
        Assert.Equal("Initialize replica-1", Plan((Primary, Running())));
    }

    [Fact]
    public void Converged_IsAnEmptyPlan()
    {
        Assert.Equal("", Plan((Primary, Running()), (Replica, Running())));
    }

    [Fact]
    public void AStoppedServer_IsStartedAtOnce_ThenWithABackoff()
    {
        Assert.Equal("Start primary", Plan((Primary, Stopped(failures: 1))));
        Assert.Equal("", Plan((Primary, Stopped(failures: 3, ago: TimeSpan.FromSeconds(1)))));
        Assert.Equal("Start primary", Plan((Primary, Stopped(failures: 3, ago: TimeSpan.FromSeconds(2)))));
        Assert.Equal(TimeSpan.FromSeconds(30), EnginePlanner.Backoff(20));
    }

    [Fact]
    public void AReplicaThatKeepsDying_IsRebuilt_ButNeverThePrimary()
    {
        Assert.Equal("Start replica-1", Plan((Primary, Running()), (Replica, Stopped(failures: 2, ago: TimeSpan.FromMinutes(1)))));
        Assert.Equal("Rebuild replica-1", Plan((Primary, Running()), (Replica, Stopped(failures: 3, ago: TimeSpan.FromMinutes(1)))));
        Assert.Equal("Start primary", Plan((Primary, Stopped(failures: 5, ago: TimeSpan.FromMinutes(1))), (Replica, Running())));
    }

    [Fact]
    public void AReplica_IsCopiedOnlyFromAPrimaryThatAnswers_ButAStandbyStartsAnyway()
    {
        Assert.Equal("Start primary", Plan((Primary, Stopped(failures: 1)), (Replica, MemberObservation.Absent)));
        Assert.Equal("Start primary", Plan((Primary, Stopped(failures: 1)), (Replica, Stopped(failures: 3))));
        Assert.Equal("Start primary, Start replica-1", Plan((Primary, Stopped(failures: 1)), (Replica, Stopped(failures: 1) with { Standby = true })));
    }

    // Failover: the topology after a promotion (the leader file says replica-1).
    private static readonly EngineMember OldPrimary = Primary with { IsPrimary = false };
    private static readonly EngineMember NewPrimary = Replica with { IsPrimary = true };
    private static readonly EngineMember Replica2 = new("pg", "replica-2", "/d/pg/replica-2", 5434, false);

    private static MemberObservation Dead(TimeSpan downFor, bool initialized = true) => new(initialized, null, false, 1, Now - downFor, DownSince: Now - downFor);

    private static string PlanWith(TimeSpan failover, IReadOnlyList<EngineMember> members, params (EngineMember Member, MemberObservation Seen)[] observed) =>
        string.Join(", ", EnginePlanner.Plan(members, observed.ToDictionary(o => o.Member, o => o.Seen), Now, new Dictionary<string, TimeSpan> { ["pg"] = failover })
            .Select(a => $"{a.Kind} {a.Member.Role}"));

    [Fact]
    public void ADeadPrimary_IsRestartedInPlace_ThenReplacedByAReplicaAfterTheFailoverDelay()
    {
        var ten = TimeSpan.FromSeconds(10);
        Assert.Equal("Start primary", PlanWith(ten, [Primary, Replica], (Primary, Dead(TimeSpan.Zero)), (Replica, Streaming())));
        Assert.Equal("Start primary", PlanWith(ten, [Primary, Replica], (Primary, Dead(TimeSpan.FromSeconds(9))), (Replica, Streaming())));
        Assert.Equal("Promote replica-1", PlanWith(ten, [Primary, Replica], (Primary, Dead(TimeSpan.FromSeconds(10))), (Replica, Streaming())));
        // failover: 0s promotes at once; no replica that answers in recovery: restart in place, however long.
        Assert.Equal("Promote replica-1", PlanWith(TimeSpan.Zero, [Primary, Replica], (Primary, Dead(TimeSpan.Zero)), (Replica, Streaming())));
        Assert.Equal("Start primary", PlanWith(TimeSpan.Zero, [Primary, Replica], (Primary, Dead(TimeSpan.FromMinutes(5))), (Replica, Running(ready: false))));
        // A primary that restarts but stays in crash recovery past the delay is replaced as well.
        var starting = new MemberObservation(true, 300, false, 1, Now - TimeSpan.FromSeconds(12), DownSince: Now - TimeSpan.FromSeconds(12));
        Assert.Equal("Promote replica-1", PlanWith(ten, [Primary, Replica], (Primary, starting), (Replica, Streaming())));
        Assert.Equal("", PlanWith(TimeSpan.Zero, [Primary, Replica], (Primary, starting with { DownSince = Now - TimeSpan.FromSeconds(5) }), (Replica, Streaming())));
    }

    [Fact]
    public void ALostDataDirectory_IsNeverInitializedAgainBesideAReplica_TheReplicaIsPromoted()
    {
        var lost = Dead(TimeSpan.Zero, initialized: false);
        Assert.Equal("Promote replica-1", PlanWith(TimeSpan.FromMinutes(1), [Primary, Replica], (Primary, lost), (Replica, Streaming())));
        // The replica down too: wait for it (an empty new primary would lose every row).
        Assert.Equal("Start replica-1", string.Join(", ", PlanWith(TimeSpan.FromMinutes(1), [Primary, Replica], (Primary, lost), (Replica, Stopped(failures: 1)))));
        Assert.Equal("Initialize primary", PlanWith(TimeSpan.FromMinutes(1), [Primary, Replica]));
    }

    [Fact]
    public void TheMostUpToDateReplica_IsPromoted()
    {
        Assert.Equal("Promote replica-2", PlanWith(TimeSpan.Zero, [Primary, Replica, Replica2], (Primary, Dead(TimeSpan.Zero)), (Replica, Streaming(lsn: 900)), (Replica2, Streaming(lsn: 1000))));
        Assert.Equal("Promote replica-1", PlanWith(TimeSpan.Zero, [Primary, Replica, Replica2], (Primary, Dead(TimeSpan.Zero)), (Replica, Streaming(lsn: 1000)), (Replica2, Streaming(lsn: 1000))));
    }

    [Fact]
    public void AfterAFailover_TheOldPrimaryIsFencedAndRebuilt_AndTheOtherReplicasFollow()
    {
        // A crash after the leader file was written: the promotion is finished, nothing else moves yet.
        Assert.Equal("Promote replica-1", PlanWith(TimeSpan.Zero, [OldPrimary, NewPrimary], (OldPrimary, Dead(TimeSpan.Zero)), (NewPrimary, Streaming())));
        // The old primary running as a primary (a control plane restarted it? it came back?): killed, never served.
        Assert.Equal("Fence primary", PlanWith(TimeSpan.Zero, [OldPrimary, NewPrimary], (OldPrimary, Running() with { Standby = false }), (NewPrimary, Running())));
        Assert.Equal("Rebuild primary", PlanWith(TimeSpan.Zero, [OldPrimary, NewPrimary], (OldPrimary, Dead(TimeSpan.Zero)), (NewPrimary, Running())));
        // Rebuilt (a standby now), it is left alone; a replica still streaming from the old port is pointed at the new primary.
        Assert.Equal("", PlanWith(TimeSpan.Zero, [OldPrimary, NewPrimary], (OldPrimary, Streaming(upstream: 5433)), (NewPrimary, Running())));
        Assert.Equal("Follow replica-2", PlanWith(TimeSpan.Zero, [OldPrimary, NewPrimary, Replica2],
            (OldPrimary, Streaming(upstream: 5433)), (NewPrimary, Running()), (Replica2, Streaming(upstream: 5432))));
    }
}
