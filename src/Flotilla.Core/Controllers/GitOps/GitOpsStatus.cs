using Flotilla.Conditions;
using Flotilla.Store;

namespace Flotilla.Controllers.GitOps;

/// <summary>
/// A followed repository's sync status, as Argo CD shows one: Synced, OutOfSync (with the drift),
/// Progressing (applied, converging) or Failed (with the reason, and a commit's spec errors).
/// </summary>
public sealed record GitOpsStatus(
    string Repo, string Path, string? Environment, string Branch, TimeSpan Interval, bool SelfHeal,
    string Sync, string Message, IReadOnlyList<string> Errors, string? AppliedCommit, string? Head, string? HeadAuthor, string? HeadMessage,
    IReadOnlyList<string> Drift, DateTimeOffset? LastCheck, DateTimeOffset? NextCheck)
{
    /// <summary>The drift, typed: what differs from git (a revision, a scale, a flag), why, and in words.</summary>
    public IReadOnlyList<Condition> Conditions { get; init; } = [];

    public static GitOpsStatus Starting(GitOpsSource source, DateTimeOffset at) =>
        new(source.Repo, source.Path, source.Environment, source.Branch, source.Interval, source.SelfHeal, "Unknown", "not checked yet", [], source.LastCommit, null, null, null, [], null, at);
}
