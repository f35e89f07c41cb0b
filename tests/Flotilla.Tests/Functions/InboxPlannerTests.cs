using Flotilla.Controllers.Inboxes;

namespace Flotilla.Tests.Functions;

/// <summary>Which dropped files are complete: settled for the settle time, never a file still growing, never a dot or temporary name.</summary>
public sealed class InboxPlannerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(1);

    private static InboxFile File(string name, long size, int writtenAtSecond = 0) => new(name, size, T0.AddSeconds(writtenAtSecond));

    [Fact]
    public void AFile_IsTaken_OnlyAfterItLookedTheSameForTheSettleTime()
    {
        var first = InboxPlanner.Plan([File("a.jpg", 10)], new Dictionary<string, InboxSighting>(), Settle, T0);
        Assert.Empty(first.Take);
        var early = InboxPlanner.Plan([File("a.jpg", 10)], first.Sightings, Settle, T0.AddMilliseconds(900));
        Assert.Empty(early.Take);
        Assert.Equal(first.Sightings["a.jpg"], early.Sightings["a.jpg"]);
        var settled = InboxPlanner.Plan([File("a.jpg", 10)], early.Sightings, Settle, T0.AddSeconds(1));
        Assert.Equal(["a.jpg"], settled.Take);
        Assert.Empty(settled.Sightings);
    }

    [Fact]
    public void AFileStillBeingWritten_IsNotTaken_WhileItsSizeOrTimeChanges()
    {
        var sightings = InboxPlanner.Plan([File("big.bin", 100)], new Dictionary<string, InboxSighting>(), Settle, T0).Sightings;
        for (var second = 1; second <= 5; second++)
        {
            // Appended to every second (or rewritten in place: same size, new time).
            var file = second % 2 == 0 ? File("big.bin", 100 * second, second) : File("big.bin", 100 * (second - 1), second);
            var plan = InboxPlanner.Plan([file], sightings, Settle, T0.AddSeconds(second));
            Assert.Empty(plan.Take);
            Assert.Equal(T0.AddSeconds(second), plan.Sightings["big.bin"].Since);
            sightings = plan.Sightings;
        }
        Assert.Equal(["big.bin"], InboxPlanner.Plan([File("big.bin", 400, 5)], sightings, Settle, T0.AddSeconds(6)).Take);
    }

    [Theory]
    [InlineData(".a.jpg")]
    [InlineData("a.jpg.tmp")]
    [InlineData("a.jpg.part")]
    [InlineData("a.jpg.partial")]
    [InlineData("a.jpg.crdownload")]
    [InlineData("a.jpg~")]
    public void TemporaryNames_AreNeverTaken(string name)
    {
        var first = InboxPlanner.Plan([File(name, 10)], new Dictionary<string, InboxSighting>(), Settle, T0);
        var later = InboxPlanner.Plan([File(name, 10)], first.Sightings, Settle, T0.AddHours(1));
        Assert.Empty(later.Take);
        Assert.Empty(later.Sightings);
    }

    [Fact]
    public void AFileThatWentAway_IsForgotten_AndSettledFilesAreTakenOldestFirst()
    {
        var first = InboxPlanner.Plan([File("gone", 1), File("b", 1, -5), File("a", 1, -1)], new Dictionary<string, InboxSighting>(), Settle, T0);
        var second = InboxPlanner.Plan([File("b", 1, -5), File("a", 1, -1)], first.Sightings, Settle, T0.AddSeconds(2));
        Assert.Equal(["b", "a"], second.Take);
        Assert.Empty(second.Sightings);
    }
}
