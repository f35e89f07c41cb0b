using Flotilla.Runtime.Kubernetes;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Kubernetes;

/// <summary>
/// Which lines of a pod's log stream are copied (<see cref="PodLogCursor"/>), and where that is kept
/// (<see cref="PodLogPositions"/>): a resumed stream starts at the whole second of the last line copied,
/// and lines sharing one stamp are told apart by how many of them were copied.
/// </summary>
public sealed class PodLogCursorTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 13, 25, 0, TimeSpan.Zero);
    private static readonly DateTimeOffset T1 = T0.AddMilliseconds(400);
    private static readonly DateTimeOffset T2 = T0.AddSeconds(1);

    private static string Taken(PodLogCursor cursor, params DateTimeOffset?[] stamps) =>
        string.Concat(stamps.Select(s => cursor.Take(s) ? "c" : "s"));

    [Fact]
    public void FromNothing_EveryLineIsCopied_AndTheLinesOfOneStampAreCounted()
    {
        var cursor = new PodLogCursor(null);
        Assert.Equal("cccc", Taken(cursor, T0, T1, T1, T1));
        Assert.Equal(new PodLogPosition(T1, 3), cursor.Position);
    }

    [Fact]
    public void AResumedStream_SkipsWhatWasCopied_EvenLinesSharingTheLastStamp()
    {
        // Copied up to the second of three lines stamped T1; the server sends again from T1's whole second (T0).
        var cursor = new PodLogCursor(new PodLogPosition(T1, 2));
        cursor.Resume();
        Assert.Equal("sssscc", Taken(cursor, T0, T0, T1, T1, T1, T2));
        Assert.Equal(new PodLogPosition(T2, 1), cursor.Position);
    }

    [Fact]
    public void AStreamThatBreaksAndResumes_CountsTheSharedStampAfresh()
    {
        var cursor = new PodLogCursor(null);
        Assert.Equal("cc", Taken(cursor, T1, T1));
        cursor.Resume();
        Assert.Equal("ssc", Taken(cursor, T1, T1, T1));
        Assert.Equal(new PodLogPosition(T1, 3), cursor.Position);
    }

    [Fact]
    public void ALineStampedBack_IsCopied_NotDropped_AndTheNextResumeMayBringItAgain()
    {
        // containerd stamps a stderr line before a stdout line that is written first: T2, then T1.
        var cursor = new PodLogCursor(null);
        Assert.Equal("ccc", Taken(cursor, T2, T1, T2));
        Assert.Equal(new PodLogPosition(T2, 2), cursor.Position);
        // Resumed from T2's second: both T2 lines are skipped; the T1 line between them was copied too, but
        // it is stamped before the position, so it is skipped as well; what follows the last T2 is new.
        cursor.Resume();
        Assert.Equal("sssc", Taken(cursor, T2, T1, T2, T1));
    }

    [Fact]
    public void ALineWithoutAStamp_IsCopied_AndMovesNothing()
    {
        var cursor = new PodLogCursor(new PodLogPosition(T1, 1));
        Assert.True(cursor.Take(null));
        Assert.Equal(new PodLogPosition(T1, 1), cursor.Position);
    }

    [Fact]
    public void ARewind_GivesBackLinesNotWritten()
    {
        var cursor = new PodLogCursor(new PodLogPosition(T0, 1));
        var before = cursor.Position;
        Assert.Equal("c", Taken(cursor, T2));
        cursor.Rewind(before);
        cursor.Resume();
        Assert.Equal("sc", Taken(cursor, T0, T2));
    }

    [Fact]
    public void TheSinceTime_IsTheWholeSecondOfTheLastLine() =>
        Assert.Equal(T0, new PodLogPosition(T1, 4).SinceTime);

    [Fact]
    public void Positions_AreKeptBesideTheLog_PerPod_AndAnUnreadableFileIsNoPosition()
    {
        using var dir = new TempDirectory();
        var log = Path.Combine(dir.Path, "web-1.log");
        Assert.Null(PodLogPositions.Read(log, "pod-a"));
        PodLogPositions.Write(log, "pod-a", new PodLogPosition(T1, 2));
        PodLogPositions.Write(log, "pod-b", new PodLogPosition(T2, 1));
        PodLogPositions.Write(log, "pod-a", new PodLogPosition(T2, 3));
        Assert.Equal((new PodLogPosition(T2, 3), new PodLogPosition(T2, 1)), (PodLogPositions.Read(log, "pod-a"), PodLogPositions.Read(log, "pod-b")));
        Assert.Equal([Path.GetFileName(PodLogPositions.PathOf(log))], Directory.GetFiles(dir.Path).Select(Path.GetFileName));

        File.WriteAllText(PodLogPositions.PathOf(log), "{\"pod-a\": {\"At\": ");
        Assert.Null(PodLogPositions.Read(log, "pod-a"));
    }
}
