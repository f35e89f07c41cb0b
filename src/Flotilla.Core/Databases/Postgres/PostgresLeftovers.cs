using System.Diagnostics;

namespace Flotilla.Databases.Postgres;

/// <summary>
/// What a killed PostgreSQL server leaves outside its data directory: a System V segment and its dynamic
/// shared memory segments (<c>/dev/shm/PostgreSQL.*</c>, about 1 MB each run). A server started again on the
/// same directory frees them itself; a directory deleted instead would leave them until the machine restarts.
/// So before such a directory is deleted, PostgreSQL's own clean-up is run on it: a single-user start, which
/// removes the dead server's segments (the ones its old segment lists, so only that server's) and exits cleanly
/// at once (no port, no connection).
/// </summary>
internal static class PostgresLeftovers
{
    private static readonly TimeSpan Limit = TimeSpan.FromSeconds(30);

    /// <summary>
    /// Frees the shared memory of the dead server of <paramref name="dataDirectory"/>, a directory about to be
    /// deleted. Nothing to do for one stopped cleanly (no <c>postmaster.pid</c>); returns why it could not, or null.
    /// </summary>
    public static async Task<string?> ReleaseAsync(string dataDirectory, CancellationToken cancellationToken)
    {
        var lockFile = Path.Combine(dataDirectory, "postmaster.pid");
        if (!File.Exists(lockFile) || PostgresServer.BinDirectory() is not { } bin)
        {
            return null;
        }
        if (int.TryParse(File.ReadLines(lockFile).FirstOrDefault(), out var pid) && Runtime.Posix.IsRunning(pid, null))
        {
            return $"its server (pid {pid}) still runs";
        }
        // A single-user server refuses standby mode; the directory is deleted next, so its role no longer matters.
        File.Delete(Path.Combine(dataDirectory, "standby.signal"));
        File.Delete(Path.Combine(dataDirectory, "recovery.signal"));
        var segment = SystemVSegment(lockFile);
        var (code, output) = await SingleUserAsync(bin, dataDirectory, cancellationToken);
        if (code != 0 && (output.Contains("pg_control", StringComparison.Ordinal) || output.Contains("control file", StringComparison.Ordinal)))
        {
            // Its control file is lost or broken (often why it is being rebuilt): a single-user start stops on that before it
            // frees anything. pg_resetwal writes one (nothing of this directory is kept), then the start gets as far as the
            // clean-up (it finds the dead server's segment by the directory's inode), whatever it fails on after.
            await ResetControlFileAsync(bin, dataDirectory, lockFile, cancellationToken);
            (code, output) = await SingleUserAsync(bin, dataDirectory, cancellationToken);
            if (code != 0 && segment is { } id && !SystemVSegmentExists(id))
            {
                return null;
            }
        }
        return code == 0 ? null : $"postgres --single exited {code}: {output.Trim()}";
    }

    /// <summary>A single-user start, again while the dead server's backends still hold its segment (they take a moment to notice it died).</summary>
    private static async Task<(int Code, string Output)> SingleUserAsync(string bin, string dataDirectory, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Limit;
        while (true)
        {
            var (code, output) = await SingleUserOnceAsync(bin, dataDirectory, cancellationToken);
            if (code == 0 || !output.Contains("still in use", StringComparison.Ordinal) || DateTime.UtcNow > deadline)
            {
                return (code, output);
            }
            await Task.Delay(200, cancellationToken);
        }
    }

    private static async Task ResetControlFileAsync(string bin, string dataDirectory, string lockFile, CancellationToken cancellationToken)
    {
        // pg_resetwal refuses a directory with a lock file, and wants a control file to overwrite. The lock file comes back
        // after: the start checks with it that the dead server's segment is no longer in use (and waits while it is).
        if (!File.Exists(lockFile) || (int.TryParse(File.ReadLines(lockFile).FirstOrDefault(), out var pid) && Runtime.Posix.IsRunning(pid, null)))
        {
            return;
        }
        var aside = lockFile + ".dead";
        File.Move(lockFile, aside, overwrite: true);
        try
        {
            var control = Path.Combine(dataDirectory, "global", "pg_control");
            if (!File.Exists(control))
            {
                await PostgresServer.RunAsync(PostgresServer.AsServerUser(["touch", control]), "touch pg_control", cancellationToken);
            }
            await PostgresServer.RunAsync(PostgresServer.AsServerUser([Path.Combine(bin, "pg_resetwal"), "-f", "-D", dataDirectory]), "pg_resetwal", cancellationToken);
        }
        catch (DatabaseException)
        {
            // The start after reports what is still wrong.
        }
        finally
        {
            File.Move(aside, lockFile, overwrite: true);
        }
    }

    /// <summary>The System V segment's id: the second field of postmaster.pid's seventh line.</summary>
    private static int? SystemVSegment(string lockFile) =>
        File.ReadLines(lockFile).ElementAtOrDefault(6)?.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [_, var id, ..]
            && int.TryParse(id, System.Globalization.CultureInfo.InvariantCulture, out var parsed) ? parsed : null;

    private static bool SystemVSegmentExists(int id) =>
        File.ReadLines("/proc/sysvipc/shm").Skip(1).Any(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries) is [_, var shmid, ..] && shmid == id.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private static async Task<(int Code, string Output)> SingleUserOnceAsync(string bin, string dataDirectory, CancellationToken cancellationToken)
    {
        var command = PostgresServer.AsServerUser([Path.Combine(bin, "postgres"), "--single", "-D", dataDirectory, "-c", "listen_addresses=", "-c", "logging_collector=off", "postgres"]);
        var start = new ProcessStartInfo(command[0]) { RedirectStandardInput = true, RedirectStandardOutput = true, RedirectStandardError = true, UseShellExecute = false };
        foreach (var argument in command.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start) ?? throw new DatabaseException("postgres --single could not be started");
        // End of input: the single-user server checkpoints and exits.
        process.StandardInput.Close();
        var output = process.StandardOutput.ReadToEndAsync(cancellationToken);
        var error = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Limit);
        try
        {
            await process.WaitForExitAsync(timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            process.Kill();
            return (-1, $"no exit within {Limit.TotalSeconds:0} s");
        }
        return (process.ExitCode, await error + await output);
    }
}
