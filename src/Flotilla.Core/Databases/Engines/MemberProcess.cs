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

    public static async Task<bool> ReadyAsync(EngineMember member, string adminConnectionString, CancellationToken cancellationToken)
    {
        try
        {
            var builder = new NpgsqlConnectionStringBuilder(adminConnectionString) { Port = member.Port, Pooling = false, Timeout = 2 };
            await using var connection = new NpgsqlConnection(builder.ToString());
            await connection.OpenAsync(cancellationToken);
            return true;
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            return false;
        }
    }

    public static int Start(EngineMember member)
    {
        var command = PostgresServer.Command(member.DataDirectory, member.Port);
        var env = new Dictionary<string, string>(StringComparer.Ordinal) { ["PATH"] = Environment.GetEnvironmentVariable("PATH") ?? "/usr/bin:/bin", ["LANG"] = "C.UTF-8" };
        var program = CommandLine.Resolve(command[0], member.Directory, env["PATH"]) ?? throw new DatabaseException($"{command[0]} not found on PATH");
        File.AppendAllText(member.LogFile, $"--- {DateTimeOffset.UtcNow:O} flotilla: starting {member}\n");
        var pid = PosixSpawn.Start(program, command.Skip(1).ToList(), env, member.Directory, member.LogFile);
        // Our child until this control plane ends: reaped here, so a killed server is not left a zombie that looks alive.
        new Thread(() => PosixSpawn.WaitForExit(pid)) { IsBackground = true, Name = $"reap {member.Engine}/{member.Role}" }.Start();
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
