using Flotilla.Databases.Postgres;
using Flotilla.Runtime;
using Npgsql;

namespace Flotilla.Databases.Engines;

/// <summary>
/// The operating-system side of a member: finding its postmaster (PostgreSQL's own
/// <c>postmaster.pid</c>, checked against the process's command line, so a control plane that
/// restarts adopts it), starting it detached in its own process group with its log in its
/// directory, and stopping it with PostgreSQL's fast shutdown.
/// </summary>
internal static class MemberProcess
{
    public static bool Initialized(EngineMember member) => File.Exists(Path.Combine(member.DataDirectory, "PG_VERSION"));

    public static int? Pid(EngineMember member)
    {
        try
        {
            var lines = File.ReadAllLines(Path.Combine(member.DataDirectory, "postmaster.pid"));
            if (lines.Length > 0 && int.TryParse(lines[0], out var pid) && Posix.IsRunning(pid, null)
                && File.ReadAllText($"/proc/{pid}/cmdline").Split('\0').Contains(member.DataDirectory))
            {
                return pid;
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
        return null;
    }

    /// <summary>A standby's directory (pg_basebackup -R writes it; promotion removes it).</summary>
    public static bool Standby(EngineMember member) => File.Exists(Path.Combine(member.DataDirectory, "standby.signal"));

    /// <summary>The port of the last <c>primary_conninfo</c> in the member's postgresql.auto.conf (the one PostgreSQL uses), or null.</summary>
    public static int? UpstreamPort(EngineMember member)
    {
        try
        {
            var line = File.ReadLines(Path.Combine(member.DataDirectory, "postgresql.auto.conf")).LastOrDefault(l => l.StartsWith("primary_conninfo", StringComparison.Ordinal));
            var match = line is null ? null : System.Text.RegularExpressions.Regex.Match(line, @"\bport=(\d+)");
            return match is { Success: true } ? int.Parse(match.Groups[1].Value, System.Globalization.CultureInfo.InvariantCulture) : null;
        }
        catch (IOException)
        {
            return null;
        }
    }

    /// <summary>A connection to this member alone, whatever hosts the admin string names.</summary>
    public static string ConnectionString(EngineMember member, string adminConnectionString, int timeoutSeconds = 2) =>
        new NpgsqlConnectionStringBuilder(adminConnectionString) { Host = "127.0.0.1", Port = member.Port, Pooling = false, Timeout = timeoutSeconds, TargetSessionAttributes = null }.ToString();

    /// <summary>Whether the member accepts connections; if so whether it is in recovery (a replica) and how much WAL it has (received or replayed).</summary>
    public static async Task<(bool Ready, bool? InRecovery, long? Lsn)> ProbeAsync(EngineMember member, string adminConnectionString, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(ConnectionString(member, adminConnectionString));
            await connection.OpenAsync(cancellationToken);
            // Received, not only replayed: a synchronous commit is acknowledged once a replica has flushed it,
            // and a promoted replica replays everything it received before it takes writes.
            await using var command = new NpgsqlCommand(
                "SELECT pg_is_in_recovery(), (GREATEST(pg_last_wal_receive_lsn(), pg_last_wal_replay_lsn()) - '0/0'::pg_lsn)::bigint", connection);
            await using var reader = await command.ExecuteReaderAsync(cancellationToken);
            await reader.ReadAsync(cancellationToken);
            return (true, reader.GetBoolean(0), reader.IsDBNull(1) ? null : reader.GetInt64(1));
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            return (false, null, null);
        }
    }

    /// <param name="exited">Called when the server exits (for a server this control plane started): the controller looks at once rather than at its next tick.</param>
    public static int Start(EngineMember member, Action? exited = null)
    {
        var command = PostgresServer.Command(member.DataDirectory, member.Port);
        var env = new Dictionary<string, string>(StringComparer.Ordinal) { ["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin", ["LANG"] = "C.UTF-8" };
        var program = CommandLine.Resolve(command[0], member.Directory, env["PATH"]) ?? throw new DatabaseException($"{command[0]} not found on PATH");
        File.AppendAllText(member.LogFile, $"--- {DateTimeOffset.UtcNow:O} flotilla: starting {member}\n");
        var pid = PosixSpawn.Start(program, command.Skip(1).ToList(), env, member.Directory, member.LogFile);
        // Our child until this control plane ends: reaped here, so a killed server is not left a zombie that looks alive.
        new Thread(() =>
        {
            PosixSpawn.WaitForExit(pid);
            exited?.Invoke();
        }) { IsBackground = true, Name = $"reap {member.Engine}/{member.Role}" }.Start();
        return pid;
    }

    /// <summary>SIGINT (fast shutdown: sessions end, a checkpoint is written), then SIGKILL if it has not ended in time.</summary>
    public static async Task StopAsync(EngineMember member, TimeSpan timeout)
    {
        if (Pid(member) is not { } pid)
        {
            return;
        }
        Posix.Signal(pid, Posix.SIGINT);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        while (Posix.IsRunning(pid, null) && clock.Elapsed < timeout)
        {
            await Task.Delay(50);
        }
        if (Posix.IsRunning(pid, null))
        {
            Posix.Signal(pid, Posix.SIGKILL);
            // Gone before this returns: what comes next (freeing its shared memory, deleting its directory) needs it dead.
            var killed = System.Diagnostics.Stopwatch.StartNew();
            while (Posix.IsRunning(pid, null) && killed.Elapsed < TimeSpan.FromSeconds(10))
            {
                await Task.Delay(20);
            }
        }
    }

    /// <summary>The last lines of the member's log, for an error a person can act on.</summary>
    public static string LogTail(EngineMember member, int lines = 5)
    {
        try
        {
            return string.Join(" | ", File.ReadLines(member.LogFile).TakeLast(lines));
        }
        catch (IOException)
        {
            return "(no log)";
        }
    }
}
