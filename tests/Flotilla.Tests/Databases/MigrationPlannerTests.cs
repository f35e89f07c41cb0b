using Flotilla.Databases;

namespace Flotilla.Tests.Databases;

/// <summary>What to apply from files and history: a table of scenarios, no database.</summary>
public sealed class MigrationPlannerTests
{
    private static MigrationFile File(long version, string checksum = "c") =>
        new(version, $"{version:000}_m.sql", $"/m/{version:000}_m.sql", "SELECT 1;", checksum.PadRight(16, '0'), false);

    private static AppliedMigration Applied(long version, string checksum = "c") =>
        new(version, $"{version:000}_m.sql", checksum.PadRight(16, '0'), DateTimeOffset.UnixEpoch, "alice (apply)");

    public static TheoryData<MigrationFile[], AppliedMigration[], long[], string?> Scenarios => new()
    {
        { [], [], [], null },
        { [File(1), File(2)], [], [1, 2], null },
        { [File(1), File(2), File(3)], [Applied(1)], [2, 3], null },
        { [File(1), File(2)], [Applied(1), Applied(2)], [], null },
        { [File(1, "new")], [Applied(1, "old")], [], "/m/001_m.sql:1: migration 001_m.sql was changed after it was applied" },
        { [File(2)], [Applied(1), Applied(2)], [], "migration 001_m.sql (version 1) was applied on 1970-01-01 00:00:00Z by alice (apply) but its file is gone" },
        { [File(1), File(2), File(3)], [Applied(1), Applied(3)], [], "/m/002_m.sql:1: migration 002_m.sql is numbered below 3" },
    };

    [Theory]
    [MemberData(nameof(Scenarios))]
    public void Plan_AppliesWhatIsNew_InOrder_AndRefusesRewrittenHistory(MigrationFile[] files, AppliedMigration[] applied, long[] pending, string? refusal)
    {
        var plan = MigrationPlanner.Plan(files, applied);
        Assert.Equal(pending, plan.Pending.Select(f => f.Version));
        if (refusal is null)
        {
            Assert.Null(plan.Refusal);
        }
        else
        {
            Assert.StartsWith(refusal, plan.Refusal, StringComparison.Ordinal);
        }
    }

    [Fact]
    public void AContractMigration_IsRefusedWhileOlderRevisionsRun_AndRunsOtherwise()
    {
        var contract = File(2) with { Contract = true };
        var refused = MigrationPlanner.Plan([File(1), contract], [Applied(1)], "instances of revision abc still run");
        Assert.StartsWith("/m/002_m.sql:1: migration 002_m.sql is a contract migration (-- flotilla: contract) and instances of revision abc still run", refused.Refusal, StringComparison.Ordinal);
        Assert.Equal([2L], MigrationPlanner.Plan([File(1), contract], [Applied(1)]).Pending.Select(f => f.Version));
        // Applied already: an older revision running later does not matter.
        Assert.True(MigrationPlanner.Plan([File(1), contract], [Applied(1), Applied(2)], "instances of revision abc still run").IsEmpty);
    }

    [Fact]
    public void Converged_IsAnEmptyPlan()
    {
        Assert.True(MigrationPlanner.Plan([File(1)], [Applied(1)]).IsEmpty);
    }
}
