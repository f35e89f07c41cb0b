namespace Flotilla.Store;

/// <summary>
/// What schedule and file triggers keep in the store beside their queue's messages (table
/// <c>schedule_cursors</c>, and the <c>source</c>/<c>done</c> columns of <c>queue_messages</c>).
/// A schedule's occurrence is fired and its cursor moved in one transaction, so an occurrence is
/// enqueued once even when the control plane dies between the two.
/// </summary>
public sealed partial class StateStore
{
    /// <summary>The time through which a schedule's occurrences were handled; null before its first look.</summary>
    public DateTimeOffset? ScheduleCursor(string function) =>
        Read(c => Scalar(c, "SELECT handled_through FROM schedule_cursors WHERE function = $f", null, ("$f", function)) is long ms ? DateTimeOffset.FromUnixTimeMilliseconds(ms) : (DateTimeOffset?)null);

    /// <summary>
    /// Moves a schedule's cursor and, when given, enqueues its run, atomically. With <paramref name="replacing"/> (a reason)
    /// the run's queue's unfinished messages are set aside as dead first, in the same transaction (concurrency policy
    /// Replace): their leases end, so a delivery still under way settles nothing. Returns the run's id and the ids set aside.
    /// </summary>
    public (long? Id, IReadOnlyList<long> Replaced) AdvanceSchedule(string function, DateTimeOffset handledThrough, (string Queue, byte[] Body)? run, DateTimeOffset now, string? replacing = null) =>
        Write((c, t) =>
        {
            Execute(c, "INSERT INTO schedule_cursors (function, handled_through) VALUES ($f, $at) ON CONFLICT (function) DO UPDATE SET handled_through = $at", t,
                ("$f", function), ("$at", handledThrough.ToUnixTimeMilliseconds()));
            IReadOnlyList<long> replaced = [];
            if (replacing is not null && run is { } old)
            {
                replaced = QueryIn(c, t, "SELECT id FROM queue_messages WHERE queue = $q AND dead = 0 AND done = 0 ORDER BY id", r => r.GetInt64(0), ("$q", old.Queue));
                Execute(c, "UPDATE queue_messages SET dead = 1, lease_token = NULL, last_error = $e WHERE queue = $q AND dead = 0 AND done = 0", t,
                    ("$q", old.Queue), ("$e", replacing));
            }
            return (run is { } r ? Insert(c, t, r.Queue, r.Body, "application/json", now, null) : (long?)null, replaced);
        });

    /// <summary>A queue's messages not yet finished: waiting, in delivery or waiting for a retry (dead and done ones not counted).</summary>
    public long Unfinished(string queue) =>
        Read(c => (long)Scalar(c, "SELECT COUNT(*) FROM queue_messages WHERE queue = $q AND dead = 0 AND done = 0", null, ("$q", queue))!);

    /// <summary>The messages of a queue made from files, with where each stands.</summary>
    public IReadOnlyList<FileMessage> FileMessages(string queue) =>
        Read(c => Query(c, "SELECT id, source, dead, done, last_error FROM queue_messages WHERE queue = $q AND source IS NOT NULL ORDER BY id",
            r => new FileMessage(r.GetInt64(0), r.GetString(1), r.GetInt64(2) == 1, r.GetInt64(3) == 1, NullableString(r, 4)), ("$q", queue)));

    /// <summary>Forgets a message whose outcome was acted on (its file moved to processed/ or failed/).</summary>
    public void RemoveMessage(long id) => Write((c, t) => Execute(c, "DELETE FROM queue_messages WHERE id = $id", t, ("$id", id)));
}

/// <summary>A message made from a dropped file: <see cref="Source"/> is the file (claimed, under the inbox's .flotilla/claimed/).</summary>
public sealed record FileMessage(long Id, string Source, bool Dead, bool Done, string? LastError);
