namespace Flotilla.Runtime;

/// <summary>
/// Finds instance processes that no record knows: a control plane killed between spawning an
/// instance and recording it leaves one. Each instance runs in its own working directory
/// under <c>instances/</c>, and leads its own process group, which is how they are told apart.
/// </summary>
internal static class StrayProcesses
{
    public static IReadOnlyList<(int Pid, string InstanceId)> Find(string instancesDirectory, IReadOnlySet<int> known)
    {
        var prefix = Path.GetFullPath(instancesDirectory).TrimEnd('/') + "/";
        var found = new List<(int, string)>();
        foreach (var entry in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(Path.GetFileName(entry), System.Globalization.CultureInfo.InvariantCulture, out var pid) || known.Contains(pid))
            {
                continue;
            }
            try
            {
                var cwd = new DirectoryInfo(Path.Combine(entry, "cwd")).LinkTarget;
                if (cwd is not null && cwd.StartsWith(prefix, StringComparison.Ordinal) && Posix.ProcessGroup(pid) == pid)
                {
                    found.Add((pid, cwd[prefix.Length..].Split('/')[0]));
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // Gone meanwhile, or not ours to look at.
            }
        }
        return found;
    }
}
