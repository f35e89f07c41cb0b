using Flotilla.Isolation;

namespace Flotilla.Runtime;

/// <summary>
/// Secrets injected as files live in a directory per instance under one root of Flotilla's (each file
/// 0400), never in the data directory; removed when the instance ends. The root is in memory-backed
/// /dev/shm, or in the temp directory on a machine without it (on disk then: the README says so).
/// With an instance user, an instance's directory and files are that user's; the root lets it pass,
/// not list, and only Flotilla may write to it, so no instance can swap its directory for a symlink
/// (an instance's working directory is its user's to change: secrets never go there). /dev/shm and
/// /tmp are writable by every local user, so the root is checked (<see cref="Prepare"/>) when a driver
/// starts and before every write: a directory someone else made first, or a symlink, would hand them
/// every secret written into it.
/// </summary>
internal sealed class SecretFiles(string root)
{
    /// <summary>The one a control plane uses; tests make their own in a directory of theirs.</summary>
    public static SecretFiles Default { get; } = new(DefaultRoot(shm: Directory.Exists("/dev/shm")));

    /// <summary>Where <see cref="Default"/> keeps secret files: /dev/shm, else the temp directory.</summary>
    internal static string DefaultRoot(bool shm) => Path.Combine(shm ? "/dev/shm" : Path.GetTempPath(), $"flotilla-secrets-{Environment.UserName}");

    private const UnixFileMode OthersWrite = UnixFileMode.GroupWrite | UnixFileMode.OtherWrite;

    public string Root => root;

    /// <summary>
    /// Creates <see cref="Root"/> (0700; 0711 when instance users must pass through it) or checks the one
    /// there: a real directory (not a symlink), ours, that no one else may write to. Throws
    /// InvalidOperationException naming the path, what was found and the fix otherwise.
    /// </summary>
    public void Prepare(bool traversable) => Ensure(root, traversable ? FileOwnership.Traversable : FileOwnership.Private);

    private static void Ensure(string directory, UnixFileMode mode)
    {
        try
        {
            // mkdir(2) does not follow a symlink at the path: it fails with EEXIST, and the check below refuses it.
            Directory.CreateDirectory(directory, mode);
        }
        catch (IOException)
        {
            // Something other than a directory is there (or a dangling symlink): the check names it.
        }
        var found = FileOwnership.Lstat(directory);
        var me = FileOwnership.EffectiveUid;
        string? wrong = found switch
        {
            null => "it does not exist after creating it",
            { Kind: FileKind.Symlink } => $"it is a symlink (to {new FileInfo(directory).LinkTarget}), owned by uid {found.Uid}",
            { Kind: not FileKind.Directory } => $"it is not a directory ({found.Kind}), owned by uid {found.Uid}",
            _ when found.Uid != me => $"it is owned by uid {found.Uid} ({UserName(found.Uid)}), not by Flotilla's uid {me}, so that user could read the secrets",
            _ when (found.Mode & OthersWrite) != 0 => $"its mode {Convert.ToString((int)found.Mode, 8)} lets other users write into it",
            _ => null,
        };
        if (wrong is not null)
        {
            throw new InvalidOperationException($"refusing to write secret files into {directory}: {wrong}; "
                + $"remove it (rm -rf {directory}) and restart Flotilla, or create it yourself as uid {me} with mode {Convert.ToString((int)mode, 8)} before Flotilla starts");
        }
        // Ours and closed to writers: bring it to the designed mode (never take x away: another driver's instance users may pass).
        const UnixFileMode Pass = UnixFileMode.GroupExecute | UnixFileMode.OtherExecute;
        var wanted = FileOwnership.Private | ((found!.Mode | mode) & Pass);
        if (found.Uid == me && found.Mode != wanted)
        {
            File.SetUnixFileMode(directory, wanted);
        }
    }

    /// <summary>Writes one secret of an instance to a file of its own; returns the file's path.</summary>
    public string Write(string instanceId, string variable, string value, InstanceUser? owner = null)
    {
        Prepare(traversable: owner is not null);
        // Inside the checked root, which only Flotilla may write to: nobody else can put anything at this name.
        var directory = Path.Combine(root, instanceId);
        Directory.CreateDirectory(directory, FileOwnership.Private);
        if (owner is not null)
        {
            FileOwnership.Give(directory, owner, FileOwnership.Private);
        }
        // A fresh name created exclusively (O_CREAT|O_EXCL: fails on anything there, a symlink included), then
        // renamed over the final name: rename(2) replaces a symlink planted there instead of writing through it.
        var path = Path.Combine(directory, variable);
        var temporary = Path.Combine(directory, $".{variable}.{Guid.NewGuid():N}");
        try
        {
            using (var file = new FileStream(temporary, new FileStreamOptions { Mode = FileMode.CreateNew, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead }))
            {
                File.SetUnixFileMode(file.SafeFileHandle, UnixFileMode.UserRead);
                // Through the descriptor, before it is closed: the directory is the owner's, who could swap the name.
                if (owner is not null)
                {
                    FileOwnership.Give(file.SafeFileHandle, temporary, owner, UnixFileMode.UserRead);
                }
                file.Write(System.Text.Encoding.UTF8.GetBytes(value));
            }
            File.Move(temporary, path, overwrite: true);
        }
        finally
        {
            File.Delete(temporary);
        }
        return path;
    }

    public void Remove(string instanceId) => Directories.TryDelete(Path.Combine(root, instanceId));

    private static string UserName(int uid) =>
        File.ReadLines("/etc/passwd").Select(l => l.Split(':')).FirstOrDefault(f => f.Length > 2 && f[2] == uid.ToString(System.Globalization.CultureInfo.InvariantCulture))?[0] ?? "no user of that uid";
}
