using System.Runtime.InteropServices;

namespace Flotilla.Runtime;

/// <summary>
/// Descriptors Flotilla inherited from whatever started it (a flock(1) lock, a CI runner's pipe): .NET
/// opens its own close-on-exec, but inherited ones pass on to every program Flotilla starts, and a
/// daemon that outlives Flotilla (its router, HAProxy's master, a database server) would hold them for
/// good. Marked close-on-exec once at start, they reach no child, however it is started
/// (posix_spawn also closes them, where glibc offers closefrom; Process.Start does not).
/// </summary>
public static partial class InheritedDescriptors
{
    private const int GetFd = 1;
    private const int SetFd = 2;
    private const int CloseOnExec = 1;

    [LibraryImport("libc", EntryPoint = "fcntl", SetLastError = true)]
    private static partial int Fcntl(int fd, int command, int argument);

    public static void CloseOnExecAll()
    {
        if (!OperatingSystem.IsLinux())
        {
            return;
        }
        foreach (var entry in Directory.EnumerateFileSystemEntries("/proc/self/fd"))
        {
            if (int.TryParse(Path.GetFileName(entry), out var fd) && fd > 2 && Fcntl(fd, GetFd, 0) is >= 0 and var flags && (flags & CloseOnExec) == 0)
            {
                Fcntl(fd, SetFd, flags | CloseOnExec);
            }
        }
    }
}
