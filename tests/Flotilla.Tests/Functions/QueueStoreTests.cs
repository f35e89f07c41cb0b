using Flotilla.Controllers.Queues;
using Flotilla.Model;
using Flotilla.Store;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Functions;

/// <summary>The queue's leases in a real SQLite store, and the retry back-off.</summary>
public sealed class QueueStoreTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 1, 0, 0, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();
    private readonly StateStore _store;

    public QueueStoreTests() => _store = StateStore.Open(_dir.Path);

    public void Dispose()
    {
        _store.Dispose();
        _dir.Dispose();
    }

    private long Push(string text) => _store.Enqueue("images", System.Text.Encoding.UTF8.GetBytes(text), "text/plain", T0);

    [Fact]
    public void ALeasedMessage_IsNotLeasedAgain_UntilItsLeaseEnds_ThenIsDeliveredAgain()
    {
        var id = Push("a");
        var first = Assert.Single(_store.Lease("images", 10, T0, T0.AddSeconds(30)));
        Assert.Equal((id, 1), (first.Id, first.Attempts));
        Assert.Empty(_store.Lease("images", 10, T0.AddSeconds(29), T0.AddSeconds(59)));
        // The lease ran out (the control plane that held it was killed): delivered again, a new attempt.
        var second = Assert.Single(_store.Lease("images", 10, T0.AddSeconds(30), T0.AddSeconds(60)));
        Assert.Equal(2, second.Attempts);
        // The first delivery's late answer no longer counts; the second one's does.
        Assert.False(_store.Acknowledge(id, first.Token!));
        Assert.True(_store.Acknowledge(id, second.Token!));
        Assert.Empty(_store.Lease("images", 10, T0.AddHours(1), T0.AddHours(2)));
    }

    [Fact]
    public void AFailedMessage_IsDueAgainAtItsRetryTime_AndDeadWithItsReason_ThenRetriedOnDemand()
    {
        var id = Push("a");
        var leased = _store.Lease("images", 10, T0, T0.AddSeconds(30)).Single();
        Assert.True(_store.Fail(id, leased.Token!, "attempt 1: answered 500", T0.AddSeconds(2)));
        Assert.Empty(_store.Lease("images", 10, T0.AddSeconds(1), T0.AddSeconds(31)));
        leased = _store.Lease("images", 10, T0.AddSeconds(2), T0.AddSeconds(32)).Single();
        Assert.True(_store.Fail(id, leased.Token!, "attempt 2: answered 500", null));
        Assert.Empty(_store.Lease("images", 10, T0.AddDays(1), T0.AddDays(2)));
        var dead = Assert.Single(_store.DeadMessages("images", 10));
        Assert.Equal("attempt 2: answered 500", dead.LastError);
        Assert.Equal(new QueueCounts("images", 0, 0, 1), Assert.Single(_store.QueueCounts(T0)));
        Assert.Equal(1, _store.RetryDead("images", null, T0.AddSeconds(5)));
        Assert.Equal(1, Assert.Single(_store.Lease("images", 10, T0.AddSeconds(5), T0.AddSeconds(35))).Attempts);
    }

    [Fact]
    public void Messages_AreLeasedOldestFirst_AtMostAsManyAsAsked_AndSurviveAReopen()
    {
        var ids = Enumerable.Range(0, 5).Select(i => Push($"m{i}")).ToList();
        Assert.Equal(ids.Take(3), _store.Lease("images", 3, T0, T0.AddSeconds(30)).Select(m => m.Id));
        _store.Dispose();
        using var reopened = StateStore.Open(_dir.Path);
        Assert.Equal(ids.Skip(3), reopened.Lease("images", 10, T0, T0.AddSeconds(30)).Select(m => m.Id));
        Assert.Equal(new QueueCounts("images", 0, 5, 0), Assert.Single(reopened.QueueCounts(T0.AddSeconds(1))));
        Assert.Equal(new QueueCounts("images", 5, 0, 0), Assert.Single(reopened.QueueCounts(T0.AddSeconds(30))));
    }

    public static TheoryData<int, double?> Backoffs => new()
    {
        // attempts done → seconds until the next (null: dead), for 5 attempts from 1 s up to 5 s
        { 1, 1 }, { 2, 2 }, { 3, 4 }, { 4, null },
    };

    [Theory]
    [MemberData(nameof(Backoffs))]
    public void Retries_BackOffDoubling_UpToTheMost_ThenGiveUp(int attempts, double? seconds)
    {
        var retry = new FunctionRetry(4, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(3));
        var next = QueueRetries.Next(retry, attempts, T0);
        Assert.Equal(seconds is null ? null : T0 + TimeSpan.FromSeconds(Math.Min(seconds.Value, 3)), next);
    }

    [Fact]
    public void MessagesOfOneKey_AreLeasedOneAtATime_InOrder_OthersAlongside()
    {
        long Keyed(string text, string? key) => _store.Enqueue("images", System.Text.Encoding.UTF8.GetBytes(text), "text/plain", T0, key: key);
        string Text(QueueMessage m) => System.Text.Encoding.UTF8.GetString(m.Body);
        Keyed("a1", "a");
        Keyed("b1", "b");
        Keyed("a2", "a");
        Keyed("free", null);
        Keyed("a3", "a");
        var first = _store.Lease("images", 10, T0, T0.AddSeconds(30));
        Assert.Equal(["a1", "b1", "free"], first.Select(Text));
        Assert.Equal("a", first[0].Key);
        // a2 waits while a1 is in delivery, and while a1 waits for its retry.
        Assert.Empty(_store.Lease("images", 10, T0.AddSeconds(1), T0.AddSeconds(31)));
        Assert.True(_store.Fail(first[0].Id, first[0].Token!, "attempt 1: answered 500", T0.AddSeconds(5)));
        Assert.Empty(_store.Lease("images", 10, T0.AddSeconds(2), T0.AddSeconds(32)));
        var again = Assert.Single(_store.Lease("images", 10, T0.AddSeconds(5), T0.AddSeconds(35)));
        Assert.Equal(("a1", 2), (Text(again), again.Attempts));
        Assert.True(_store.Acknowledge(again.Id, again.Token!));
        var second = Assert.Single(_store.Lease("images", 10, T0.AddSeconds(6), T0.AddSeconds(36)));
        Assert.Equal("a2", Text(second));
        // A dead message no longer holds its key back.
        Assert.True(_store.Fail(second.Id, second.Token!, "attempt 1: gave up", null));
        Assert.Equal("a3", Text(Assert.Single(_store.Lease("images", 10, T0.AddSeconds(7), T0.AddSeconds(37)))));
    }
}
