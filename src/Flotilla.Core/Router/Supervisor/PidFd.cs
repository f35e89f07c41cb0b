using System.Runtime.InteropServices;

namespace Flotilla.Router.Supervisor;

/// <summary>
/// pidfd_getfd(2) (Linux 5.6+): a copy of another process's open file, here a listening socket
/// the supervisor holds. Simpler than passing descriptors over a Unix socket (SCM_RIGHTS, which
/// .NET does not offer), and the supervisor needs no request to hand one over.
/// </summary>
internal static partial class PidFd
{
    /// <summary>A pidfd of the process; throws with the errno text when it cannot.</summary>
    public static int Open(int pid) => Check(pidfd_open(pid, 0), $"pidfd_open({pid})");

    /// <summary>A new descriptor in this process for descriptor <paramref name="fd"/> of the pidfd's process (close-on-exec).</summary>
    public static int Take(int pidfd, int fd) => Check(pidfd_getfd(pidfd, fd, 0), $"pidfd_getfd of descriptor {fd}");

    public static void Close(int fd) => close(fd);

    private static int Check(int result, string what) =>
        result >= 0 ? result : throw new IOException($"{what}: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");

    [LibraryImport("libc", SetLastError = true)] private static partial int pidfd_open(int pid, uint flags);
    [LibraryImport("libc", SetLastError = true)] private static partial int pidfd_getfd(int pidfd, int targetFd, uint flags);
    [LibraryImport("libc")] private static partial int close(int fd);
}
