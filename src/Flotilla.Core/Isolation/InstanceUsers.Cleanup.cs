namespace Flotilla.Isolation;

/// <summary>
/// Removing instance users. Users come from the system uid range (about 900 on Debian), one per
/// service and environment, so the unused ones must go; but its uid may be given to the next user
/// created, who would own what it left behind. So a user is removed only when no process of it runs
/// and it owns nothing in its data directory (its SQLite files, a working directory); what it left in
/// /dev/shm, /tmp and /var/tmp (a .NET instance's diagnostic sockets, a temp file) is given to root
/// first. Only users Flotilla made are touched: the name must be the one <see cref="NameOf"/> gives
/// the (data directory, service) named in the GECOS field.
/// </summary>
public sealed partial class InstanceUsers
{
    private const string Marker = "flotilla service ";

    /// <summary>
    /// Removes this data directory's users that run nothing and own nothing (see above); returns their
    /// names. Run when a control plane starts: a deleted service's user goes with it (unless its SQLite
    /// files stay), and one still in use is simply made again on its next instance start.
    /// </summary>
    public IReadOnlyList<string> RemoveUnused()
    {
        if (Off is not null)
        {
            return [];
        }
        lock (Creating)
        {
            var ours = Ours().Where(u => u.DataDirectory == _dataDirectory).ToList();
            if (ours.Count == 0)
            {
                return [];
            }
            var uids = ours.Select(u => u.Uid).ToHashSet();
            var used = RunningUids(uids);
            if (!Walk(_dataDirectory, int.MaxValue, uids, (_, uid) => used.Add(uid)))
            {
                // Part of the data directory could not be read: a user may own something there, so none goes.
                return [];
            }
            var unused = ours.Where(u => !used.Contains(u.Uid)).ToList();
            var leftovers = new List<(string Path, int Uid)>();
            foreach (var shared in new[] { "/dev/shm", "/tmp", "/var/tmp" })
            {
                Walk(shared, shared == "/dev/shm" ? int.MaxValue : 1, unused.Select(u => u.Uid).ToHashSet(), (path, uid) => leftovers.Add((path, uid)));
            }
            // Deepest first, so a directory is walked before it becomes root's (no race with its owner: it runs nothing).
            foreach (var (path, uid) in leftovers.OrderByDescending(l => l.Path.Length))
            {
                try
                {
                    FileOwnership.GiveToRoot(path);
                }
                catch (IOException)
                {
                    used.Add(uid); // something of it stays its own: keep the user
                }
            }
            var removed = new List<string>();
            foreach (var user in unused.Where(u => !used.Contains(u.Uid)))
            {
                if (Delete(user.Name, _tools.Userdel ?? "userdel"))
                {
                    _users.TryRemove(user.Service, out _);
                    removed.Add(user.Name);
                }
            }
            return removed;
        }
    }

    /// <summary>
    /// Deletes the instance users of every data directory at or under <paramref name="directory"/> (the
    /// directory is gone: nothing of theirs is left to inherit); returns their names. For tests and for
    /// an operator who removes a data directory.
    /// </summary>
    public static IReadOnlyList<string> RemoveUnder(string directory)
    {
        var under = Path.GetFullPath(directory).TrimEnd('/');
        lock (Creating)
        {
            return Ours().Where(u => u.DataDirectory == under || u.DataDirectory.StartsWith(under + "/", StringComparison.Ordinal))
                .Select(u => Delete(u.Name, "userdel") ? u.Name : null).OfType<string>().ToList();
        }
    }

    /// <summary>The users in /etc/passwd that Flotilla made: fl-NAME whose GECOS names a service whose user is that name.</summary>
    private static IEnumerable<(string Name, int Uid, string Service, string DataDirectory)> Ours()
    {
        string[] lines;
        try
        {
            lines = File.ReadAllLines("/etc/passwd");
        }
        catch (IOException)
        {
            yield break;
        }
        foreach (var fields in lines.Select(l => l.Split(':')).Where(f => f.Length >= 7 && f[0].StartsWith("fl-", StringComparison.Ordinal) && f[4].StartsWith(Marker, StringComparison.Ordinal)))
        {
            var of = fields[4].LastIndexOf(" of /", StringComparison.Ordinal);
            if (of < 0 || !int.TryParse(fields[2], System.Globalization.CultureInfo.InvariantCulture, out var uid))
            {
                continue;
            }
            var service = fields[4][Marker.Length..of];
            var dataDirectory = fields[4][(of + 4)..];
            if (NameOf(dataDirectory, service) == fields[0] && Comment(dataDirectory, service) == fields[4])
            {
                yield return (fields[0], uid, service, dataDirectory);
            }
        }
    }

    /// <summary>Which of <paramref name="uids"/> any process runs as (real, effective, saved or file-system uid).</summary>
    private static HashSet<int> RunningUids(HashSet<int> uids)
    {
        var running = new HashSet<int>();
        foreach (var process in Directory.EnumerateDirectories("/proc").Where(d => Path.GetFileName(d).All(char.IsAsciiDigit)))
        {
            try
            {
                var line = File.ReadLines(Path.Combine(process, "status")).FirstOrDefault(l => l.StartsWith("Uid:", StringComparison.Ordinal));
                foreach (var field in line?.Split((char[])['\t', ' '], StringSplitOptions.RemoveEmptyEntries).Skip(1) ?? [])
                {
                    if (int.TryParse(field, System.Globalization.CultureInfo.InvariantCulture, out var uid) && uids.Contains(uid))
                    {
                        running.Add(uid);
                    }
                }
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                // The process ended meanwhile.
            }
        }
        return running;
    }

    /// <summary>
    /// Calls <paramref name="found"/> for each path at or below <paramref name="path"/> owned by one of <paramref name="uids"/>;
    /// below <paramref name="depth"/> only inside what they own. Symlinks are reported, not followed.
    /// False when some of it could not be read (it may hold more of theirs).
    /// </summary>
    private static bool Walk(string path, int depth, HashSet<int> uids, Action<string, int> found)
    {
        FileStatus? status;
        try
        {
            status = FileOwnership.Lstat(path);
        }
        catch (IOException)
        {
            return false;
        }
        if (status is null)
        {
            return true;
        }
        var owned = uids.Contains(status.Uid);
        if (owned)
        {
            found(path, status.Uid);
        }
        if (status.Kind != FileKind.Directory || (depth <= 0 && !owned))
        {
            return true;
        }
        List<string> entries;
        try
        {
            entries = Directory.EnumerateFileSystemEntries(path).ToList();
        }
        catch (DirectoryNotFoundException)
        {
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            return false;
        }
        var complete = true;
        foreach (var entry in entries)
        {
            complete &= Walk(entry, owned ? int.MaxValue : depth - 1, uids, found);
        }
        return complete;
    }

    private static bool Delete(string name, string userdel)
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            // 10 (and 1 on some versions): /etc/passwd locked by another process.
            var (code, _) = Run(userdel, name);
            if (code == 0)
            {
                return true;
            }
            if (code is not (1 or 10))
            {
                return false;
            }
            Thread.Sleep(100);
        }
        return false;
    }
}
