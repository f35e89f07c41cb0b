namespace Flotilla.Store;

/// <summary>
/// Functions' queues (table <c>queue_messages</c>): at-least-once delivery by leases. A message is
/// due when its <c>visible_at</c> has passed; leasing it pushes <c>visible_at</c> past the lease's end
/// and stamps a token, in one transaction, so no two deliveries hold it at once. A delivery that
/// ends (ack, retry, dead) only counts while its token is still the message's: one whose lease ran
/// out (a control plane killed mid-delivery) changes nothing, and the message is delivered again.
/// </summary>
public sealed partial class StateStore
{
    /// <param name="source">The file a message was made from (file triggers): answered, it is kept as done until <see cref="RemoveMessage"/>.</param>
    /// <param name="key">Orders the message behind the earlier ones of the same key: it is not leased while one of them is waiting, in delivery or waiting for a retry (a dead one no longer holds it back).</param>
    public long Enqueue(string queue, byte[] body, string? contentType, DateTimeOffset at, string? source = null, string? key = null) =>
        Write((c, t) => Insert(c, t, queue, body, contentType, at, source, key));

    private static long Insert(Microsoft.Data.Sqlite.SqliteConnection c, Microsoft.Data.Sqlite.SqliteTransaction t, string queue, byte[] body, string? contentType, DateTimeOffset at, string? source, string? key = null)
    {
        Execute(c, "INSERT INTO queue_messages (queue, body, content_type, created_at, visible_at, source, key) VALUES ($q, $b, $ct, $at, $at, $s, $k)", t,
            ("$q", queue), ("$b", body), ("$ct", contentType), ("$at", at.ToUnixTimeMilliseconds()), ("$s", source), ("$k", key));
        return (long)Scalar(c, "SELECT last_insert_rowid()", t)!;
    }

    /// <summary>Leases up to <paramref name="max"/> due messages of a queue, oldest first, until <paramref name="until"/>.</summary>
    public IReadOnlyList<QueueMessage> Lease(string queue, int max, DateTimeOffset now, DateTimeOffset until) =>
        max <= 0 ? [] : Write((c, t) =>
        {
            var due = QueryIn(c, t, """
                SELECT id FROM queue_messages m
                WHERE queue = $q AND dead = 0 AND done = 0 AND visible_at <= $now
                  AND (key IS NULL OR NOT EXISTS (SELECT 1 FROM queue_messages p WHERE p.queue = m.queue AND p.key = m.key AND p.dead = 0 AND p.done = 0 AND p.id < m.id))
                ORDER BY id LIMIT $max
                """, r => r.GetInt64(0),
                ("$q", queue), ("$now", now.ToUnixTimeMilliseconds()), ("$max", max));
            var leased = new List<QueueMessage>();
            foreach (var id in due)
            {
                var token = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(8));
                Execute(c, "UPDATE queue_messages SET visible_at = $until, lease_token = $token, attempts = attempts + 1 WHERE id = $id", t,
                    ("$until", until.ToUnixTimeMilliseconds()), ("$token", token), ("$id", id));
                leased.AddRange(QueryIn(c, t, "SELECT id, queue, body, content_type, attempts, lease_token, last_error, created_at, source, key FROM queue_messages WHERE id = $id", ReadMessage, ("$id", id)));
            }
            return leased;
        });

    /// <summary>Done: the message goes, or one made from a file is marked done until its file is moved (false when the lease was lost and another delivery owns it now).</summary>
    public bool Acknowledge(long id, string token) =>
        Write((c, t) =>
        {
            Execute(c, "DELETE FROM queue_messages WHERE id = $id AND lease_token = $token AND source IS NULL", t, ("$id", id), ("$token", token));
            var deleted = (long)Scalar(c, "SELECT changes()", t)!;
            Execute(c, "UPDATE queue_messages SET done = 1, lease_token = NULL WHERE id = $id AND lease_token = $token AND source IS NOT NULL", t, ("$id", id), ("$token", token));
            return deleted + (long)Scalar(c, "SELECT changes()", t)! == 1;
        });

    /// <summary>Failed: due again at <paramref name="retryAt"/>, or with null, dead (kept with the reason until retried).</summary>
    public bool Fail(long id, string token, string error, DateTimeOffset? retryAt) =>
        Write((c, t) =>
        {
            Execute(c, retryAt is { } at
                ? "UPDATE queue_messages SET visible_at = $at, lease_token = NULL, last_error = $e WHERE id = $id AND lease_token = $token"
                : "UPDATE queue_messages SET dead = 1, lease_token = NULL, last_error = $e WHERE id = $id AND lease_token = $token", t,
                ("$id", id), ("$token", token), ("$e", error), ("$at", retryAt?.ToUnixTimeMilliseconds()));
            return (long)Scalar(c, "SELECT changes()", t)! == 1;
        });

    /// <summary>Every queue with its messages waiting, in delivery (leased now) and dead.</summary>
    public IReadOnlyList<QueueCounts> QueueCounts(DateTimeOffset now) =>
        Read(c => Query(c, """
            SELECT queue,
                   SUM(CASE WHEN dead = 0 AND done = 0 AND (lease_token IS NULL OR visible_at <= $now) THEN 1 ELSE 0 END),
                   SUM(CASE WHEN dead = 0 AND lease_token IS NOT NULL AND visible_at > $now THEN 1 ELSE 0 END),
                   SUM(dead)
            FROM queue_messages GROUP BY queue ORDER BY queue
            """, r => new QueueCounts(r.GetString(0), r.GetInt64(1), r.GetInt64(2), r.GetInt64(3)), ("$now", now.ToUnixTimeMilliseconds())));

    public IReadOnlyList<QueueMessage> DeadMessages(string queue, int limit) =>
        Read(c => Query(c, "SELECT id, queue, body, content_type, attempts, lease_token, last_error, created_at, source, key FROM queue_messages WHERE queue = $q AND dead = 1 ORDER BY id LIMIT $l",
            ReadMessage, ("$q", queue), ("$l", limit)));

    /// <summary>Dead messages (one, or all of a queue) are due again with their attempts reset; returns how many.</summary>
    public int RetryDead(string queue, long? id, DateTimeOffset now) =>
        Write((c, t) =>
        {
            Execute(c, "UPDATE queue_messages SET dead = 0, attempts = 0, visible_at = $now, lease_token = NULL WHERE queue = $q AND dead = 1 AND ($id IS NULL OR id = $id)", t,
                ("$q", queue), ("$id", id), ("$now", now.ToUnixTimeMilliseconds()));
            return (int)(long)Scalar(c, "SELECT changes()", t)!;
        });

    /// <summary>A query inside a write's transaction (SQLite refuses a command outside the connection's open transaction).</summary>
    private static List<T> QueryIn<T>(Microsoft.Data.Sqlite.SqliteConnection connection, Microsoft.Data.Sqlite.SqliteTransaction transaction, string sql,
        Func<Microsoft.Data.Sqlite.SqliteDataReader, T> map, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(connection, sql, transaction, parameters);
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(map(reader));
        }
        return rows;
    }

    private static QueueMessage ReadMessage(Microsoft.Data.Sqlite.SqliteDataReader r) =>
        new(r.GetInt64(0), r.GetString(1), (byte[])r.GetValue(2), NullableString(r, 3), r.GetInt32(4), NullableString(r, 5), NullableString(r, 6), Time(r, 7)) { Source = NullableString(r, 8), Key = NullableString(r, 9) };
}

/// <summary>One message of a functions' queue; <see cref="Token"/> is its current lease's (null when not leased).</summary>
public sealed record QueueMessage(long Id, string Queue, byte[] Body, string? ContentType, int Attempts, string? Token, string? LastError, DateTimeOffset CreatedAt)
{
    /// <summary>The file it was made from (file triggers), else null.</summary>
    public string? Source { get; init; }

    /// <summary>Its ordering key: delivered only after the earlier messages of the same key (null: no order).</summary>
    public string? Key { get; init; }
}

/// <summary>A queue's messages: waiting to be delivered, being delivered now (leased), and dead.</summary>
public sealed record QueueCounts(string Queue, long Waiting, long Leased, long Dead);
