using Flotilla.Artifacts;
using Flotilla.Conditions;
using Flotilla.Events;
using Flotilla.Model;
using Flotilla.Store;

namespace Flotilla.Controllers.GitOps;

/// <summary>
/// GitOps: the control plane follows one branch of one repository. Each new commit is applied as a
/// revision whose audit record carries the commit, its author and message; a commit whose spec is
/// invalid is not applied (Failed, with the spec's errors and the commit), and the last good
/// revision keeps running. A repository that cannot be read is Failed with the reason and retried
/// with back-off. What runs other than git says (a scale, a stop, a flag changed at runtime, a
/// revision not made from the commit) is drift: OutOfSync, or with selfHeal reverted to git.
/// Release intents (promote, abort) are not drift: they steer a release of the same revision.
/// </summary>
/// <remarks>
/// It reads and writes the followed source and the operator's overrides in the store; what it does
/// to the system (apply a commit, reset a flag, hand the controllers the healed state) goes through
/// <see cref="IGitOpsTarget"/>.
/// </remarks>
internal sealed class GitOpsSync(StateStore store, IGitOpsTarget target, EventLog events, TimeProvider time, string dataDirectory) : IDisposable
{
    private static readonly TimeSpan MaxGitOpsBackoff = TimeSpan.FromMinutes(5);
    private readonly SemaphoreSlim _gitOpsWake = new(0, 1);
    private GitOpsStatus? _gitOps;
    private string? _failedCommit;
    private int _gitOpsFailures;

    private string GitOpsWorkDirectory => Path.Combine(dataDirectory, "gitops", "work");

    /// <summary>Where the followed repository stands; null when none is followed.</summary>
    public GitOpsStatus? Status => store.GitOpsSource() is null ? null : Volatile.Read(ref _gitOps);

    public GitOpsStatus Follow(GitOpsSource source)
    {
        store.SetGitOpsSource(source);
        _failedCommit = null;
        _gitOpsFailures = 0;
        Runtime.Directories.TryDelete(GitOpsWorkDirectory);
        Volatile.Write(ref _gitOps, GitOpsStatus.Starting(source, time.GetUtcNow()));
        events.Record("gitops", $"following {source.Repo} ({source.Branch}, {source.Path}) every {source.Interval.TotalSeconds:0}s");
        Wake();
        return _gitOps!;
    }

    /// <summary>Stops following; false when no repository was followed.</summary>
    public bool StopFollowing(string actor)
    {
        if (store.GitOpsSource() is null)
        {
            return false;
        }
        store.RemoveGitOpsSource(actor, time.GetUtcNow());
        Volatile.Write(ref _gitOps, null);
        events.Record("gitops", $"no longer following a repository (by {actor})");
        return true;
    }

    /// <summary>Checks the repository now instead of at the next interval.</summary>
    public void Wake()
    {
        if (_gitOpsWake.CurrentCount == 0)
        {
            _gitOpsWake.Release();
        }
    }

    /// <summary>The loop: one sync at every interval (or wake), with back-off while the repository cannot be read.</summary>
    public async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            var wait = TimeSpan.FromSeconds(1);
            try
            {
                if (store.GitOpsSource() is { } source)
                {
                    wait = source.Interval;
                    await SyncOnceAsync(source, cancellationToken);
                    if (_gitOpsFailures > 0)
                    {
                        wait = TimeSpan.FromTicks(Math.Min(MaxGitOpsBackoff.Ticks, source.Interval.Ticks << Math.Min(_gitOpsFailures - 1, 16)));
                    }
                    if (Volatile.Read(ref _gitOps) is { } status)
                    {
                        Volatile.Write(ref _gitOps, status with { NextCheck = time.GetUtcNow() + wait });
                    }
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is Microsoft.Data.Sqlite.SqliteException or IOException or InvalidOperationException or UnauthorizedAccessException)
            {
                // Not the repository's fault (that is a GitSourceException): say it, and look again at the next interval.
                events.Record("gitops", $"sync failed: {e.GetType().Name}: {e.Message}", warning: true);
            }
            try
            {
                await _gitOpsWake.WaitAsync(wait, cancellationToken);
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    private async Task SyncOnceAsync(GitOpsSource source, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        GitHead head;
        try
        {
            head = await Task.Run(() => GitMirror.Sync(source.Repo, source.Branch, GitOpsWorkDirectory), cancellationToken);
        }
        catch (GitSourceException e)
        {
            _gitOpsFailures++;
            var retry = TimeSpan.FromTicks(Math.Min(MaxGitOpsBackoff.Ticks, source.Interval.Ticks << Math.Min(_gitOpsFailures - 1, 16)));
            SetGitOps(source, "Failed", $"{e.Message}; nothing changed; retrying in {retry.TotalSeconds:0}s (attempt {_gitOpsFailures})", [], null, now);
            return;
        }
        _gitOpsFailures = 0;
        if (head.Sha != source.LastCommit && head.Sha != _failedCommit)
        {
            if (!await ApplyCommitAsync(source, head, "gitops", cancellationToken))
            {
                return;
            }
            source = source with { LastCommit = head.Sha };
        }
        else if (head.Sha == _failedCommit)
        {
            // The invalid commit is still the tip: stay Failed with its errors until a new commit comes.
            return;
        }
        var drift = GitOpsDrift(source);
        if (drift.Count > 0 && source.SelfHeal)
        {
            await HealAsync(source, head, drift, cancellationToken);
            SetGitOps(source, "Synced", $"self-healed: {string.Join("; ", drift.Select(d => d.Condition.Message))}", [], head, now);
            return;
        }
        if (drift.Count > 0)
        {
            SetGitOps(source, "OutOfSync", $"runs other than commit {head.Short} says", [], head, now, drift.Select(d => d.Condition).ToList());
            return;
        }
        var ready = target.AllReady;
        SetGitOps(source, ready ? "Synced" : "Progressing", ready ? $"runs commit {head.Short}" : $"converging on commit {head.Short}", [], head, now);
    }

    /// <summary>Applies the commit's spec; false (Failed, with the reason) when it cannot be.</summary>
    private async Task<bool> ApplyCommitAsync(GitOpsSource source, GitHead head, string actor, CancellationToken cancellationToken)
    {
        var now = time.GetUtcNow();
        var specFile = Path.GetFullPath(Path.Combine(GitOpsWorkDirectory, source.Path));
        if (!File.Exists(specFile))
        {
            _failedCommit = head.Sha;
            SetGitOps(source, "Failed", $"commit {head.Short} has no {source.Path}; the last good revision keeps running", [], head, now);
            return false;
        }
        try
        {
            var note = $"from commit {head.Short} by {head.Author}: \"{head.Message}\"";
            var revision = await target.ApplyAsync(await File.ReadAllTextAsync(specFile, cancellationToken), specFile, source.Environment, actor, head.Sha, note, cancellationToken);
            store.SetGitOpsCommit(head.Sha);
            _failedCommit = null;
            if (revision is { } number)
            {
                events.Record("gitops", $"applied commit {head.Short} ({head.Message}) as revision {number}");
            }
            return true;
        }
        catch (Exception e) when (e is SpecException or ArtifactBuildException or CommitRefusedException)
        {
            _failedCommit = head.Sha;
            var errors = e is SpecException spec ? spec.Errors.Select(x => $"commit {head.Short}: {Relative(x.ToString())}").ToList() : [$"commit {head.Short}: {e.Message}"];
            SetGitOps(source, "Failed", $"commit {head.Short} was not applied; the last good revision keeps running", errors, head, now);
            events.Record("gitops", $"commit {head.Short} ({head.Message}) not applied: {string.Join("; ", errors)}", warning: true);
            return false;
        }
    }

    private string Relative(string error) => error.Replace(GitOpsWorkDirectory + Path.DirectorySeparatorChar, "", StringComparison.Ordinal);

    /// <summary>What runs other than the applied commit says, each with how to put it back.</summary>
    private List<GitOpsDrift> GitOpsDrift(GitOpsSource source)
    {
        var drift = new List<GitOpsDrift>();
        var latest = store.LatestRevision();
        if (latest is not null && source.LastCommit is { } commit && latest.GitCommit != commit)
        {
            drift.Add(new GitOpsDrift(new(ConditionType.RevisionDrift, "NotFromGit", $"revision {latest.Number} by {latest.Actor} is not from git ({latest.Summary})"),
                () => Task.CompletedTask));
        }
        foreach (var (service, change) in store.ServiceOverrides().Where(o => o.Value.Instances is not null || o.Value.Stopped))
        {
            var declared = target.DeclaredInstances(service);
            var condition = change.Stopped
                ? new Condition(ConditionType.ScaleDrift, "StoppedByOperator", $"{service} stopped (git says {declared} instances)")
                : new Condition(ConditionType.ScaleDrift, "ScaledByOperator", $"{service} scaled to {change.Instances} (git says {declared})");
            drift.Add(new GitOpsDrift(condition, () =>
            {
                store.SetServiceOverride(change with { Instances = null, Stopped = false }, "gitops", "self-heal", $"{service}: back to {declared} instances as git says", time.GetUtcNow());
                return Task.CompletedTask;
            }));
        }
        drift.AddRange(target.FlagDrift());
        return drift;
    }

    private async Task HealAsync(GitOpsSource source, GitHead head, List<GitOpsDrift> drift, CancellationToken cancellationToken)
    {
        foreach (var item in drift)
        {
            await item.Heal();
        }
        if (drift.Any(d => d.Condition.Type == ConditionType.RevisionDrift))
        {
            await ApplyCommitAsync(source, head, "gitops (self-heal)", cancellationToken);
        }
        target.Publish();
        events.Record("gitops", $"self-heal: {string.Join("; ", drift.Select(d => d.Condition.Message))} -> as commit {head.Short} says");
    }

    private void SetGitOps(GitOpsSource source, string sync, string message, IReadOnlyList<string> errors, GitHead? head, DateTimeOffset at, IReadOnlyList<Condition>? drift = null)
    {
        var previous = Volatile.Read(ref _gitOps);
        var next = new GitOpsStatus(source.Repo, source.Path, source.Environment, source.Branch, source.Interval, source.SelfHeal, sync, message, errors,
            store.GitOpsSource()?.LastCommit, head?.Sha ?? previous?.Head, head?.Author ?? previous?.HeadAuthor, head?.Message ?? previous?.HeadMessage,
            drift?.Select(d => d.Message).ToList() ?? [], at, previous?.NextCheck)
        {
            Conditions = drift ?? [],
        };
        Volatile.Write(ref _gitOps, next);
        if (previous?.Sync != sync)
        {
            events.Record("gitops", $"{sync}: {message}", warning: sync is "Failed" or "OutOfSync");
        }
    }

    public void Dispose() => _gitOpsWake.Dispose();
}
