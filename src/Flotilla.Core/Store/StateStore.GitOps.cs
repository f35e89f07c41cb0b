namespace Flotilla.Store;

public sealed partial class StateStore
{
    public GitOpsSource? GitOpsSource() =>
        Read(c => Query(c, "SELECT repo, path, environment, branch, interval_ms, self_heal, added_by, added_at, last_commit FROM gitops WHERE id = 1",
            r => new GitOpsSource(r.GetString(0), r.GetString(1), NullableString(r, 2), r.GetString(3), TimeSpan.FromMilliseconds(r.GetInt64(4)), r.GetInt64(5) != 0,
                r.GetString(6), Time(r, 7), NullableString(r, 8)))).FirstOrDefault();

    /// <summary>Follows a repository from now on (replacing the one followed before), audited.</summary>
    public void SetGitOpsSource(GitOpsSource source) =>
        Write((c, t) =>
        {
            Execute(c, "DELETE FROM gitops", t);
            Execute(c, "INSERT INTO gitops (id, repo, path, environment, branch, interval_ms, self_heal, added_by, added_at) VALUES (1, $r, $p, $e, $b, $i, $s, $a, $at)", t,
                ("$r", source.Repo), ("$p", source.Path), ("$e", source.Environment), ("$b", source.Branch), ("$i", (long)source.Interval.TotalMilliseconds),
                ("$s", source.SelfHeal ? 1 : 0), ("$a", source.AddedBy), ("$at", source.AddedAt.ToUnixTimeMilliseconds()));
            InsertAudit(c, t, source.AddedAt, source.AddedBy, "gitops add",
                $"follow {source.Repo} ({source.Branch}, {source.Path}{(source.Environment is null ? "" : $", environment {source.Environment}")}) every {source.Interval.TotalSeconds:0}s, selfHeal {(source.SelfHeal ? "on" : "off")}", null, null);
        });

    public void RemoveGitOpsSource(string actor, DateTimeOffset at) =>
        Write((c, t) =>
        {
            Execute(c, "DELETE FROM gitops", t);
            InsertAudit(c, t, at, actor, "gitops remove", "no longer following a repository", null, null);
        });

    public void SetGitOpsCommit(string commit) =>
        Write((c, t) => Execute(c, "UPDATE gitops SET last_commit = $c WHERE id = 1", t, ("$c", commit)));
}
