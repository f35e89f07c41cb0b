using System.Runtime.InteropServices;

namespace Flotilla.Isolation;

/// <summary>
/// Gives a path to an instance user with a private mode (chown + chmod; .NET has no chown). Only
/// root may do this, which is the only case in which <see cref="InstanceUsers"/> hands out users.
/// </summary>
public static partial class FileOwnership
{
    public const UnixFileMode Private = UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute;
    public const UnixFileMode PrivateFile = UnixFileMode.UserRead | UnixFileMode.UserWrite;

    /// <summary>Owner rwx, others may pass through (x) but not list: how a parent of private directories is opened to instance users.</summary>
    public const UnixFileMode Traversable = Private | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;

    /// <summary>Makes <paramref name="path"/> the user's with <paramref name="mode"/>; throws IOException naming the path and errno.</summary>
    public static void Give(string path, InstanceUser user, UnixFileMode mode)
    {
        // lchown: a symlink planted in an instance's directory must not make root chown its target.
        if (lchown(path, (uint)user.Uid, (uint)user.Gid) != 0)
        {
            throw new IOException($"cannot give {path} to instance user {user.Name} ({user.Uid}): {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
        File.SetUnixFileMode(path, mode);
    }

    /// <summary>
    /// Gives an open file to the user through its descriptor (fchown, fchmod): nothing done to a path, so
    /// a name swapped for a symlink or a hard link meanwhile (in a directory the user may write) changes nothing else.
    /// </summary>
    public static void Give(Microsoft.Win32.SafeHandles.SafeFileHandle file, string path, InstanceUser user, UnixFileMode mode)
    {
        if (fchown((int)file.DangerousGetHandle(), (uint)user.Uid, (uint)user.Gid) != 0)
        {
            throw new IOException($"cannot give {path} to instance user {user.Name} ({user.Uid}): {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
        File.SetUnixFileMode(file, mode);
    }

    /// <summary>Makes <paramref name="path"/> itself (not a symlink's target) root's: what a removed instance user left behind.</summary>
    public static void GiveToRoot(string path)
    {
        if (lchown(path, 0, 0) != 0 && Marshal.GetLastPInvokeError() != 2 /* ENOENT: gone meanwhile */)
        {
            throw new IOException($"cannot give {path} to root: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
    }

    /// <summary>Adds o+x (and g+x) to a directory of Flotilla's own, so instance users can reach what is below it.</summary>
    public static void OpenForTraversal(string directory)
    {
        var mode = File.GetUnixFileMode(directory);
        if ((mode & (UnixFileMode.OtherExecute | UnixFileMode.GroupExecute)) != (UnixFileMode.OtherExecute | UnixFileMode.GroupExecute))
        {
            File.SetUnixFileMode(directory, mode | UnixFileMode.OtherExecute | UnixFileMode.GroupExecute);
        }
    }

    /// <summary>Whether any user may pass through <paramref name="directory"/> and every directory above it (o+x all the way).</summary>
    public static bool ReachableByOthers(string directory)
    {
        try
        {
            for (var d = Path.GetFullPath(directory); d is not null; d = Path.GetDirectoryName(d))
            {
                if (!Directory.Exists(d) || (File.GetUnixFileMode(d) & UnixFileMode.OtherExecute) == 0)
                {
                    return false;
                }
            }
            return true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException or ArgumentException)
        {
            return false;
        }
    }

    /// <summary>
    /// What <paramref name="path"/> itself is, without following a symlink (lstat), or null when nothing is
    /// there. statx, not lstat: its buffer has one layout on every architecture.
    /// </summary>
    public static unsafe FileStatus? Lstat(string path)
    {
        var buffer = stackalloc byte[256];
        if (statx(-100 /* AT_FDCWD */, path, 0x100 /* AT_SYMLINK_NOFOLLOW */, 0x7ff /* STATX_BASIC_STATS */, buffer) != 0)
        {
            var errno = Marshal.GetLastPInvokeError();
            return errno is 2 or 20 /* ENOENT, ENOTDIR */ ? null
                : throw new IOException($"cannot stat {path}: {Marshal.GetPInvokeErrorMessage(errno)}");
        }
        var mode = *(ushort*)(buffer + 28);
        return new FileStatus((mode & 0xF000) switch { 0x4000 => FileKind.Directory, 0xA000 => FileKind.Symlink, 0x8000 => FileKind.File, _ => FileKind.Other },
            (UnixFileMode)(mode & 0xFFF), (int)*(uint*)(buffer + 20), (int)*(uint*)(buffer + 24));
    }

    /// <summary>Flotilla's effective uid: who must own the directories it writes secrets into.</summary>
    public static int EffectiveUid => (int)geteuid();

    [LibraryImport("libc", EntryPoint = "statx", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static unsafe partial int statx(int dirfd, string path, int flags, uint mask, byte* buffer);

    [LibraryImport("libc", EntryPoint = "geteuid")]
    private static partial uint geteuid();

    [LibraryImport("libc", EntryPoint = "lchown", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int lchown(string path, uint owner, uint group);

    [LibraryImport("libc", EntryPoint = "fchown", SetLastError = true)]
    private static partial int fchown(int fd, uint owner, uint group);
}
