namespace Flotilla.Runtime;

/// <summary>The per-instance log files of a service's directory, whatever runtime writes them.</summary>
internal static class InstanceLogs
{
    private const int KeptExitedLogs = 20;

    /// <summary>Keeps the logs of live instances and of the most recent exited ones, so a crash loop cannot fill the disk.</summary>
    public static void Prune(string directory, IEnumerable<string> liveInstances)
    {
        var live = liveInstances.Select(id => id + ".log").ToHashSet(StringComparer.Ordinal);
        foreach (var old in new DirectoryInfo(directory).GetFiles("*.log")
            .Where(f => !live.Contains(f.Name))
            .OrderByDescending(f => f.LastWriteTimeUtc)
            .Skip(KeptExitedLogs))
        {
            old.Delete();
        }
    }
}
