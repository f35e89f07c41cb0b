namespace Flotilla.Tests.Support;

/// <summary>Finds live processes by what their command line mentions, to prove none was left behind.</summary>
public static class ProcessScan
{
    public static IReadOnlyList<int> Mentioning(string text)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(System.IO.Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }
            try
            {
                var cmdline = File.ReadAllText(System.IO.Path.Combine(dir, "cmdline")).Replace('\0', ' ');
                var stat = File.ReadAllText(System.IO.Path.Combine(dir, "stat"));
                var zombie = stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z');
                if (!zombie && cmdline.Contains(text, StringComparison.Ordinal))
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return found;
    }

    /// <summary>The live processes of a process group (a router's supervisor and its worker).</summary>
    public static IReadOnlyList<int> InGroup(int group)
    {
        var found = new List<int>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(System.IO.Path.GetFileName(dir), out var pid))
            {
                continue;
            }
            try
            {
                var stat = File.ReadAllText(System.IO.Path.Combine(dir, "stat"));
                var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
                if (fields[0] != "Z" && int.Parse(fields[2], System.Globalization.CultureInfo.InvariantCulture) == group)
                {
                    found.Add(pid);
                }
            }
            catch (IOException)
            {
            }
        }
        return found;
    }

    /// <summary>
    /// The live processes that belong to a directory: they run in it or below it (a router's and an
    /// instance's working directory is its data directory), or their command line names it.
    /// </summary>
    public static IReadOnlyList<(int Pid, string CommandLine)> Under(string directory)
    {
        var prefix = System.IO.Path.TrimEndingDirectorySeparator(directory);
        var found = new List<(int, string)>();
        foreach (var dir in Directory.EnumerateDirectories("/proc"))
        {
            if (!int.TryParse(System.IO.Path.GetFileName(dir), out var pid) || pid == Environment.ProcessId)
            {
                continue;
            }
            try
            {
                var stat = File.ReadAllText(System.IO.Path.Combine(dir, "stat"));
                if (stat[(stat.LastIndexOf(')') + 2)..].StartsWith('Z'))
                {
                    continue;
                }
                var cwd = new FileInfo(System.IO.Path.Combine(dir, "cwd")).LinkTarget ?? "";
                var cmdline = File.ReadAllText(System.IO.Path.Combine(dir, "cmdline")).Replace('\0', ' ').Trim();
                if (cwd == prefix || cwd.StartsWith(prefix + "/", StringComparison.Ordinal) || cmdline.Contains(prefix, StringComparison.Ordinal))
                {
                    found.Add((pid, cmdline));
                }
            }
            catch (IOException)
            {
            }
            catch (UnauthorizedAccessException)
            {
            }
        }
        return found;
    }
}
