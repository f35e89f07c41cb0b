using LibGit2Sharp;

namespace Flotilla.Cli.Client;

/// <summary>The commit a spec file was applied from, for the audit record ("-dirty" when the work tree has changes).</summary>
internal static class GitCommit
{
    public static string? Of(string specFile)
    {
        try
        {
            if (Repository.Discover(Path.GetDirectoryName(specFile)) is not { } root)
            {
                return null;
            }
            using var repository = new Repository(root);
            if (repository.Head.Tip is not { } tip)
            {
                return null;
            }
            var dirty = repository.RetrieveStatus(new StatusOptions { IncludeUntracked = false }).IsDirty;
            return dirty ? tip.Sha + "-dirty" : tip.Sha;
        }
        catch (Exception e) when (e is LibGit2SharpException or DllNotFoundException or TypeInitializationException)
        {
            // Not being able to read git must never stop an apply; the audit just has no commit.
            return null;
        }
    }
}
