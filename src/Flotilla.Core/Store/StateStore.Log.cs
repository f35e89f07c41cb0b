using Flotilla.Events;
using Microsoft.Data.Sqlite;

namespace Flotilla.Store;

public sealed partial class StateStore
{
    private const int KeptEvents = 100_000;

    public void AppendEvent(SystemEvent e) =>
        Write((c, t) =>
        {
            Execute(c, "INSERT INTO events (sequence, at, subject, message, warning) VALUES ($n, $at, $s, $m, $w)", t,
                ("$n", e.Sequence), ("$at", e.At.ToUnixTimeMilliseconds()), ("$s", e.Subject), ("$m", e.Message), ("$w", e.Warning ? 1 : 0));
            if (e.Sequence % 1000 == 0)
            {
                Execute(c, "DELETE FROM events WHERE sequence <= $n", t, ("$n", e.Sequence - KeptEvents));
            }
        });

    /// <summary>The newest <paramref name="limit"/> events after <paramref name="sequence"/>, oldest first.</summary>
    public IReadOnlyList<SystemEvent> Events(long sequence, int limit) =>
        Read(c => Query(c, "SELECT sequence, at, subject, message, warning FROM (SELECT * FROM events WHERE sequence > $n ORDER BY sequence DESC LIMIT $limit) ORDER BY sequence",
            r => new SystemEvent(r.GetInt64(0), Time(r, 1), r.GetString(2), r.GetString(3), r.GetInt64(4) != 0), ("$n", sequence), ("$limit", limit)));

    public long LastEventSequence => Read(c => (long)(Scalar(c, "SELECT COALESCE(MAX(sequence), 0) FROM events") ?? 0L));

    /// <summary>
    /// The newest audit records. Rows written for a tenant (its tokens, its quota) or for the server
    /// (tenants, server-wide tokens) sit in the root store beside the root environment's own: a
    /// reader sees its environment's rows plus those of <paramref name="tenant"/>; "*" sees all.
    /// </summary>
    public IReadOnlyList<AuditRecord> Audit(int limit = 100, string tenant = "*") =>
        Read(c => Query(c, "SELECT id, at, actor, action, detail, revision, git_commit, tenant FROM audit WHERE $t = '*' OR tenant IS NULL OR tenant = $t ORDER BY id DESC LIMIT $limit",
            r => new AuditRecord(r.GetInt64(0), Time(r, 1), r.GetString(2), r.GetString(3), r.GetString(4), NullableLong(r, 5), NullableString(r, 6), NullableString(r, 7)),
            ("$limit", limit), ("$t", tenant)));

    public void AddAudit(string actor, string action, string detail, DateTimeOffset at, string? tenant = null) =>
        Write((c, t) => InsertAudit(c, t, at, actor, action, detail, null, null, tenant));

    private static void InsertAudit(SqliteConnection c, SqliteTransaction t, DateTimeOffset at, string actor, string action, string detail, long? revision, string? gitCommit, string? tenant = null) =>
        Execute(c, "INSERT INTO audit (at, actor, action, detail, revision, git_commit, tenant) VALUES ($at, $actor, $action, $detail, $rev, $git, $tenant)", t,
            ("$at", at.ToUnixTimeMilliseconds()), ("$actor", actor), ("$action", action), ("$detail", detail), ("$rev", revision), ("$git", gitCommit), ("$tenant", tenant));
}
