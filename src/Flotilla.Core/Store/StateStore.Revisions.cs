namespace Flotilla.Store;

public sealed partial class StateStore
{
    private const string RevisionColumns = "number, created_at, actor, environment, spec_file, spec_yaml, git_commit, summary, desired_json";

    /// <summary>The number of the latest revision, 0 before the first apply.</summary>
    public long LatestRevisionNumber => Read(c => (long)(Scalar(c, "SELECT COALESCE(MAX(number), 0) FROM revisions") ?? 0L));

    public RevisionRecord? LatestRevision() => Read(c => Query(c, $"SELECT {RevisionColumns} FROM revisions ORDER BY number DESC LIMIT 1", ReadRevision).FirstOrDefault());

    public RevisionRecord? Revision(long number) =>
        Read(c => Query(c, $"SELECT {RevisionColumns} FROM revisions WHERE number = $n", ReadRevision, ("$n", number)).FirstOrDefault());

    /// <summary>Revisions newest first; with <paramref name="environment"/>, only those applied for it.</summary>
    public IReadOnlyList<RevisionRecord> Revisions(int limit = 100, string? environment = null) =>
        Read(c => Query(c, $"SELECT {RevisionColumns} FROM revisions WHERE $env IS NULL OR environment = $env ORDER BY number DESC LIMIT $limit", ReadRevision, ("$limit", limit), ("$env", environment)));

    /// <summary>
    /// Records the next revision and its audit entry in one transaction. With <paramref name="basedOn"/>,
    /// fails with <see cref="StaleRevisionException"/> unless it is still the latest (optimistic concurrency).
    /// An apply of the spec resets the operator's scale overrides (the spec's counts are the desired
    /// state again); a revision made from another (undo, rollback) keeps them: <paramref name="resetScale"/>.
    /// </summary>
    public RevisionRecord AddRevision(long? basedOn, string actor, string? environment, string specFile, string specYaml, string? gitCommit, string summary, string desiredJson, DateTimeOffset at, bool resetScale = true, string? auditNote = null) =>
        Write((c, t) =>
        {
            var latest = (long)(Scalar(c, "SELECT COALESCE(MAX(number), 0) FROM revisions", t) ?? 0L);
            if (basedOn is { } expected && expected != latest)
            {
                throw new StaleRevisionException(expected, latest);
            }
            var record = new RevisionRecord(latest + 1, at, actor, environment, specFile, specYaml, gitCommit, summary, desiredJson);
            Execute(c, $"INSERT INTO revisions ({RevisionColumns}) VALUES ($n, $at, $actor, $env, $file, $yaml, $git, $summary, $desired)", t,
                ("$n", record.Number), ("$at", at.ToUnixTimeMilliseconds()), ("$actor", actor), ("$env", environment), ("$file", specFile),
                ("$yaml", specYaml), ("$git", gitCommit), ("$summary", summary), ("$desired", desiredJson));
            if (resetScale)
            {
                Execute(c, "UPDATE service_overrides SET instances = NULL", t);
                Execute(c, "DELETE FROM service_overrides WHERE instances IS NULL AND stopped = 0 AND paused = 0", t);
            }
            InsertAudit(c, t, at, actor, "apply", $"revision {record.Number}{(auditNote is null ? "" : $" {auditNote}")}: {summary}", record.Number, gitCommit);
            return record;
        });

    private static RevisionRecord ReadRevision(Microsoft.Data.Sqlite.SqliteDataReader r) =>
        new(r.GetInt64(0), Time(r, 1), r.GetString(2), NullableString(r, 3), r.GetString(4), r.GetString(5), NullableString(r, 6), r.GetString(7), r.GetString(8));
}
