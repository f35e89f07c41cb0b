namespace Flotilla.Tests.Support;

/// <summary>
/// A directory under /tmp that is removed when the test ends. It is also the suite's leak check: a
/// process still running in it or naming it then (a router, an instance, a database server the test
/// started there) is killed, and the test fails naming it.
/// </summary>
public sealed class TempDirectory : IDisposable
{
    // A process a test has just killed, or one that ends when it sees its parent gone (a router's
    // worker), takes a moment to go: only one still there after this has been left behind.
    private static readonly TimeSpan Settle = TimeSpan.FromSeconds(15);
    private static readonly System.Collections.Concurrent.ConcurrentDictionary<string, bool> Undisposed = new(StringComparer.Ordinal);

    static TempDirectory()
    {
        // The last line of defence: a cleanup that threw before it reached its directory (a fixture's
        // DisposeAsync failing half-way) would otherwise leave that directory and its processes for good.
        AppDomain.CurrentDomain.ProcessExit += (_, _) =>
        {
            foreach (var path in Undisposed.Keys)
            {
                foreach (var (pid, commandLine) in ProcessScan.Under(path))
                {
                    Console.Error.WriteLine($"flotilla tests: killing pid {pid} left behind in {path} by a test whose cleanup did not run: {commandLine}");
                    Kill(pid);
                }
                try
                {
                    Directory.Delete(path, recursive: true);
                }
                catch (Exception e) when (e is IOException or UnauthorizedAccessException)
                {
                }
            }
        };
    }

    public TempDirectory(string prefix = "flotilla-test")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)]);
        Directory.CreateDirectory(Path);
        Undisposed[Path] = true;
    }

    public string Path { get; }

    public string Write(string relative, string content)
    {
        var file = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(file)!);
        File.WriteAllText(file, content);
        return file;
    }

    public void Dispose()
    {
        Undisposed.TryRemove(Path, out _);
        var leftBehind = KillLeftBehind();
        ReleasePostgresLeftovers();
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        // Control planes run as root give each service a Unix user of its own, kept by design: a test's are removed with its directory.
        if (Environment.IsPrivilegedProcess && File.ReadAllText("/etc/passwd").Contains(" of " + Path, StringComparison.Ordinal))
        {
            global::Flotilla.Isolation.InstanceUsers.RemoveUnder(Path);
        }
        if (leftBehind.Count > 0)
        {
            throw new InvalidOperationException(
                $"{leftBehind.Count} process(es) outlived the test in {Path} and were killed now: "
                + string.Join("; ", leftBehind.Select(p => $"pid {p.Pid}: {p.CommandLine}"))
                + ". Stop what the test starts in its own cleanup (a router outlives its server by design: kill its process group).");
        }
    }

    private IReadOnlyList<(int Pid, string CommandLine)> KillLeftBehind()
    {
        var deadline = DateTime.UtcNow + Settle;
        var left = ProcessScan.Under(Path);
        while (left.Count > 0 && DateTime.UtcNow < deadline)
        {
            Thread.Sleep(100);
            left = ProcessScan.Under(Path);
        }
        foreach (var (pid, _) in left)
        {
            Kill(pid);
        }
        var killed = DateTime.UtcNow + TimeSpan.FromSeconds(10);
        while (left.Any(p => global::Flotilla.Runtime.Posix.IsRunning(p.Pid, null)) && DateTime.UtcNow < killed)
        {
            Thread.Sleep(50);
        }
        return left;
    }

    private static void Kill(int pid)
    {
        // Its whole group when it leads one (a router's supervisor and worker, an instance and its children).
        if (global::Flotilla.Runtime.Posix.ProcessGroup(pid) == pid)
        {
            global::Flotilla.Runtime.Posix.SignalGroup(pid, global::Flotilla.Runtime.Posix.SIGKILL);
        }
        global::Flotilla.Runtime.Posix.Signal(pid, global::Flotilla.Runtime.Posix.SIGKILL);
    }

    /// <summary>
    /// A PostgreSQL server killed here (by the test, or just now as left behind) keeps its shared memory
    /// (/dev/shm/PostgreSQL.*, a System V segment) after its directory is deleted: each one's is freed
    /// first, by PostgreSQL's own clean-up of that directory, so only this test's servers' segments go.
    /// </summary>
    private void ReleasePostgresLeftovers()
    {
        if (global::Flotilla.Databases.Postgres.PostgresServer.BinDirectory() is null || !Directory.Exists(Path))
        {
            return;
        }
        var options = new EnumerationOptions { RecurseSubdirectories = true, IgnoreInaccessible = true, AttributesToSkip = FileAttributes.ReparsePoint };
        foreach (var lockFile in Directory.EnumerateFiles(Path, "postmaster.pid", options))
        {
            var kept = global::Flotilla.Databases.Postgres.PostgresLeftovers.ReleaseAsync(System.IO.Path.GetDirectoryName(lockFile)!, CancellationToken.None).GetAwaiter().GetResult();
            if (kept is not null)
            {
                Console.Error.WriteLine($"flotilla tests: the shared memory of the PostgreSQL server killed in {System.IO.Path.GetDirectoryName(lockFile)} was not freed: {kept}");
            }
        }
    }
}
