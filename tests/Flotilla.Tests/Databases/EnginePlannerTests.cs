using Flotilla.Databases.Engines;
using Microsoft.Extensions.Time.Testing;

namespace Flotilla.Tests.Databases;

/// <summary>What the engine controller does for each server, from what it sees and the time: a table of scenarios.</summary>
public sealed class EnginePlannerTests
{
    private static readonly EngineMember Primary = new("pg", EngineMember.PrimaryRole, "/d/pg/primary", 5432);
    private static readonly EngineMember Replica = new("pg", "replica-1", "/d/pg/replica-1", 5433);
    private static readonly FakeTimeProvider Time = new(new DateTimeOffset(2026, 12, 5, 1, 0, 0, TimeSpan.Zero));
    private static DateTimeOffset Now => Time.GetUtcNow();

    private static MemberObservation Running(bool ready = true) => new(true, 100, ready, 0, null);

    private static MemberObservation Stopped(int failures = 0, TimeSpan? ago = null) => new(true, null, false, failures, failures == 0 ? null : Now - (ago ?? TimeSpan.Zero));

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
    public void AReplica_WaitsWhileItsPrimaryIsDown()
    {
        Assert.Equal("Start primary", Plan((Primary, Stopped(failures: 1)), (Replica, Stopped(failures: 1))));
    }
}
