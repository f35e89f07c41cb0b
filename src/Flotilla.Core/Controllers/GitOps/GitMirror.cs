using LibGit2Sharp;

namespace Flotilla.Controllers.GitOps;

/// <summary>The commit a branch points at: what GitOps applies, and what its audit record carries.</summary>
public sealed record GitHead(string Sha, string Author, string Message, DateTimeOffset When)
{
    public string Short => Sha[..Math.Min(12, Sha.Length)];
}

/// <summary>A repository or its branch could not be read; the message says which and why.</summary>
public sealed class GitSourceException(string message, Exception? inner = null) : Exception(message, inner);

/// <summary>
/// A working copy of the followed repository (LibGit2Sharp): cloned once, then fetched and reset
/// hard to the branch's tip on every sync, so build directories and flag files are on disk beside
/// the spec as they are in that commit. Any URL libgit2 reads works, a local path or file:// too.
/// </summary>
public static class GitMirror
{
    public static GitHead Sync(string url, string branch, string workDirectory)
    {
        try
        {
            if (!Directory.Exists(Path.Combine(workDirectory, ".git")) || !Repository.IsValid(workDirectory))
            {
                if (Directory.Exists(workDirectory))
                {
                    Directory.Delete(workDirectory, recursive: true);
                }
                Repository.Clone(url, workDirectory);
            }
            using var repository = new Repository(workDirectory);
            if (repository.Network.Remotes["origin"] is not { } origin || origin.Url != url)
            {
                repository.Network.Remotes.Remove("origin");
                repository.Network.Remotes.Add("origin", url);
            }
            var remote = repository.Network.Remotes["origin"];
            Commands.Fetch(repository, "origin", remote.FetchRefSpecs.Select(r => r.Specification), new FetchOptions { Prune = true }, null);
            var tracking = repository.Branches[$"origin/{branch}"]
                ?? throw new GitSourceException($"branch '{branch}' is not in {url}; its branches: {string.Join(", ", repository.Branches.Where(b => b.IsRemote).Select(b => b.FriendlyName.Replace("origin/", "", StringComparison.Ordinal)))}");
            var tip = tracking.Tip;
            repository.Reset(ResetMode.Hard, tip);
            repository.RemoveUntrackedFiles();
            return new GitHead(tip.Sha, $"{tip.Author.Name} <{tip.Author.Email}>", tip.MessageShort, tip.Author.When);
        }
        catch (LibGit2SharpException e)
        {
            throw new GitSourceException($"cannot read {url}: {e.Message}", e);
        }
    }
}
