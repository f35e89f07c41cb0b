using System.Runtime.InteropServices;
using System.Text;

namespace Flotilla.Runtime;

/// <summary>
/// Starts a program with posix_spawn in a new process group of Flotilla's own session:
/// stdin from /dev/null, stdout and stderr appended to a log file, signals reset to default, and
/// no other descriptor inherited (except those passed as <c>inherited</c>, at 3, 4, ...): a child that outlives Flotilla (a router, an instance, a database
/// server) must not hold what Flotilla's own parent gave it (a flock(1) lock, a CI runner's pipe).
/// Why not setsid: a new session is also a new scheduler autogroup, which gives every instance
/// the same CPU share as the whole of Flotilla (router included) when the machine is busy.
/// </summary>
internal static unsafe partial class PosixSpawn
{
    private const short SetProcessGroup = 0x02;
    private const short SetSignalDefaults = 0x04;
    private const short SetSignalMask = 0x08;
    private const int ReadOnly = 0, WriteOnly = 1, Create = 0x40, Append = 0x400, NoFollow = 0x20000;
    // glibc's opaque structs, with room to spare: posix_spawnattr_t is 336 bytes, file actions 80, sigset_t 128.
    private const int AttrSize = 1024, ActionsSize = 512, SigsetSize = 256;

    /// <summary>Spawns the program and returns its pid; throws with the errno text when it cannot.</summary>
    /// <param name="ownProcessGroup">False: the child joins the caller's process group (a helper that a signal to the group must reach too).</param>
    /// <param name="inherited">Descriptors of this process the child gets, the first as its descriptor 3, the next as 4, ... (e.g. listening sockets it serves on).</param>
    public static int Start(string program, IReadOnlyList<string> args, IReadOnlyDictionary<string, string> env, string workingDirectory, string logPath, bool ownProcessGroup = true, IReadOnlyList<int>? inherited = null)
    {
        inherited ??= [];
        var attr = stackalloc byte[AttrSize];
        var actions = stackalloc byte[ActionsSize];
        var signals = stackalloc byte[SigsetSize];
        var strings = new List<IntPtr>();
        IntPtr Str(string s)
        {
            var bytes = Encoding.UTF8.GetBytes(s + "\0");
            var p = Marshal.AllocHGlobal(bytes.Length);
            Marshal.Copy(bytes, 0, p, bytes.Length);
            strings.Add(p);
            return p;
        }
        IntPtr* Array(IEnumerable<string> items)
        {
            var list = items.ToList();
            var p = (IntPtr*)Marshal.AllocHGlobal((list.Count + 1) * IntPtr.Size);
            strings.Add((IntPtr)p);
            for (var i = 0; i < list.Count; i++)
            {
                p[i] = Str(list[i]);
            }
            p[list.Count] = IntPtr.Zero;
            return p;
        }

        Check(posix_spawnattr_init(attr), "posix_spawnattr_init");
        Check(posix_spawn_file_actions_init(actions), "posix_spawn_file_actions_init");
        try
        {
            Check(posix_spawnattr_setflags(attr, (short)((ownProcessGroup ? SetProcessGroup : 0) | SetSignalDefaults | SetSignalMask)), "setflags");
            Check(posix_spawnattr_setpgroup(attr, 0), "setpgroup");
            sigemptyset(signals);
            Check(posix_spawnattr_setsigmask(attr, signals), "setsigmask");
            sigfillset(signals);   // .NET ignores SIGPIPE; the program must start with every signal at its default.
            Check(posix_spawnattr_setsigdefault(attr, signals), "setsigdefault");
            // Each inherited descriptor goes first above all of them, then to its place: a source that is another's
            // place (socket 4 to go to 3, socket 3 to go to 4), or stdin's (a Flotilla started with 0 closed), is never
            // overwritten before it is copied. dup2 clears close-on-exec on the copy, which .NET sets on every descriptor it opens.
            var first = 3 + inherited.Count;
            var above = Math.Max(first, inherited.Count == 0 ? 0 : inherited.Max() + 1);
            for (var i = 0; i < inherited.Count; i++)
            {
                Check(posix_spawn_file_actions_adddup2(actions, inherited[i], above + i), "dup2 inherited");
            }
            Check(posix_spawn_file_actions_addopen(actions, 0, Str("/dev/null"), ReadOnly, 0), "open stdin");
            Check(posix_spawn_file_actions_addopen(actions, 1, Str(logPath), WriteOnly | Create | Append | NoFollow, 384), "open log");
            Check(posix_spawn_file_actions_adddup2(actions, 1, 2), "dup2 stderr");
            Check(posix_spawn_file_actions_addchdir_np(actions, Str(workingDirectory)), "chdir");
            for (var i = 0; i < inherited.Count; i++)
            {
                Check(posix_spawn_file_actions_adddup2(actions, above + i, 3 + i), "dup2 inherited");
                Check(posix_spawn_file_actions_addclose(actions, above + i), "close inherited");
            }
            // .NET opens its own files close-on-exec; this closes those it inherited without that flag (glibc 2.34+;
            // without it, InheritedDescriptors marked them close-on-exec at start).
            try
            {
                Check(posix_spawn_file_actions_addclosefrom_np(actions, first), "closefrom");
            }
            catch (EntryPointNotFoundException)
            {
            }

            var argv = Array(args.Prepend(program));
            var envp = Array(env.Select(e => $"{e.Key}={e.Value}"));
            int pid;
            var error = posix_spawn(&pid, Str(program), actions, attr, argv, envp);
            if (error != 0)
            {
                throw new InvalidOperationException($"could not start {program}: {Marshal.GetPInvokeErrorMessage(error)}");
            }
            return pid;
        }
        finally
        {
            posix_spawn_file_actions_destroy(actions);
            posix_spawnattr_destroy(attr);
            foreach (var p in strings)
            {
                Marshal.FreeHGlobal(p);
            }
        }
    }

    /// <summary>Blocks until the child exits; returns its wait status, or null when it was reaped elsewhere.</summary>
    public static int? WaitForExit(int pid)
    {
        while (true)
        {
            int status;
            var result = waitpid(pid, &status, 0);
            if (result == pid)
            {
                return status;
            }
            if (Marshal.GetLastPInvokeError() != 4)   // EINTR: wait again
            {
                return null;
            }
        }
    }

    /// <summary>Exit code as a shell reports it: the code, or 128 + the signal that ended the process.</summary>
    public static int ExitCode(int status) => (status & 0x7f) == 0 ? (status >> 8) & 0xff : 128 + (status & 0x7f);

    private static void Check(int error, string what)
    {
        if (error != 0)
        {
            throw new InvalidOperationException($"posix_spawn setup failed at {what}: {Marshal.GetPInvokeErrorMessage(error)}");
        }
    }

    [LibraryImport("libc")] private static partial int posix_spawn(int* pid, IntPtr path, byte* actions, byte* attr, IntPtr* argv, IntPtr* envp);
    [LibraryImport("libc")] private static partial int posix_spawnattr_init(byte* attr);
    [LibraryImport("libc")] private static partial int posix_spawnattr_destroy(byte* attr);
    [LibraryImport("libc")] private static partial int posix_spawnattr_setflags(byte* attr, short flags);
    [LibraryImport("libc")] private static partial int posix_spawnattr_setpgroup(byte* attr, int pgroup);
    [LibraryImport("libc")] private static partial int posix_spawnattr_setsigmask(byte* attr, byte* set);
    [LibraryImport("libc")] private static partial int posix_spawnattr_setsigdefault(byte* attr, byte* set);
    [LibraryImport("libc")] private static partial int posix_spawn_file_actions_init(byte* actions);
    [LibraryImport("libc")] private static partial int posix_spawn_file_actions_destroy(byte* actions);
    [LibraryImport("libc")] private static partial int posix_spawn_file_actions_addopen(byte* actions, int fd, IntPtr path, int flags, int mode);
    [LibraryImport("libc")] private static partial int posix_spawn_file_actions_adddup2(byte* actions, int fd, int newFd);
    [LibraryImport("libc")] private static partial int posix_spawn_file_actions_addclose(byte* actions, int fd);
    [LibraryImport("libc")] private static partial int posix_spawn_file_actions_addchdir_np(byte* actions, IntPtr path);
    [LibraryImport("libc")] private static partial int posix_spawn_file_actions_addclosefrom_np(byte* actions, int from);
    [LibraryImport("libc")] private static partial int sigemptyset(byte* set);
    [LibraryImport("libc")] private static partial int sigfillset(byte* set);
    [LibraryImport("libc", SetLastError = true)] private static partial int waitpid(int pid, int* status, int options);
}
