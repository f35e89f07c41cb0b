using System.Runtime.InteropServices;

namespace Flotilla.Runtime;

/// <summary>The few POSIX calls .NET's Process does not offer: signalling a process group.</summary>
internal static partial class Posix
{
    public const int SIGINT = 2;
    public const int SIGKILL = 9;
    public const int SIGTERM = 15;

    [LibraryImport("libc", EntryPoint = "kill", SetLastError = true)]
    private static partial int Kill(int pid, int signal);

    [LibraryImport("libc", EntryPoint = "pidfd_open", SetLastError = true)]
    private static partial int PidfdOpen(int pid, uint flags);

    [LibraryImport("libc", EntryPoint = "poll", SetLastError = true)]
    private static unsafe partial int Poll(PollFd* fds, ulong count, int timeoutMs);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);

    [StructLayout(LayoutKind.Sequential)]
    private struct PollFd
    {
        public int Fd;
        public short Events;
        public short Revents;
    }

    /// <summary>
    /// Blocks until a process that is not our child ends (waitpid only works for children): a
    /// pidfd becomes readable when it exits. Falls back to polling where pidfds do not exist.
    /// </summary>
    public static unsafe void WaitForExitOfAny(int pid, long? startTime)
    {
        var fd = PidfdOpen(pid, 0);
        if (fd < 0)
        {
            while (IsRunning(pid, startTime))
            {
                Thread.Sleep(100);
            }
            return;
        }
        try
        {
            var poll = new PollFd { Fd = fd, Events = 1 };
            while (Poll(&poll, 1, -1) < 0 && Marshal.GetLastPInvokeError() == 4)
            {
                // EINTR: wait again
            }
        }
        finally
        {
            Close(fd);
        }
    }

    /// <summary>True while the process with this pid is the one that started at <paramref name="startTime"/> and has not ended (zombies have).</summary>
    public static bool IsRunning(int pid, long? startTime) =>
        Stat(pid) is { } stat && stat.State is not ("Z" or "X") && (startTime is null || stat.StartTime == startTime);

    public static int? ProcessGroup(int pid) => Stat(pid) is { } stat ? stat.Group : null;

    /// <summary>Signals every process of the group led by <paramref name="pgid"/>; false when none is left.</summary>
    public static bool SignalGroup(int pgid, int signal) => pgid > 1 && Kill(-pgid, signal) == 0;

    public static bool IsAlive(int pid) => pid > 1 && Kill(pid, 0) == 0;

    public static bool Signal(int pid, int signal) => pid > 1 && Kill(pid, signal) == 0;

    public static string SignalName(int signal) => signal switch
    {
        1 => "SIGHUP",
        2 => "SIGINT",
        6 => "SIGABRT",
        9 => "SIGKILL",
        11 => "SIGSEGV",
        15 => "SIGTERM",
        _ => $"signal {signal}",
    };

    /// <summary>The kernel's start time of a process (clock ticks since boot), to tell a reused pid apart.</summary>
    public static long? StartTime(int pid) => Stat(pid)?.StartTime;

    private static (string State, int Group, long StartTime)? Stat(int pid)
    {
        try
        {
            var stat = File.ReadAllText($"/proc/{pid}/stat");
            // Fields after the command name, which is in parentheses and may contain spaces.
            var fields = stat[(stat.LastIndexOf(')') + 2)..].Split(' ');
            var culture = System.Globalization.CultureInfo.InvariantCulture;
            return (fields[0], int.Parse(fields[2], culture), long.Parse(fields[19], culture));
        }
        catch (IOException)
        {
            return null;
        }
    }
}
