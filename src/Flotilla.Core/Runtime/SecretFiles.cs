namespace Flotilla.Runtime;

/// <summary>
/// Secrets injected as files live in memory-backed /dev/shm (a directory per instance, 0700; each
/// file 0400), never on disk in the data directory; removed when the instance ends. Where there
/// is no /dev/shm they go in the instance's working directory, which is removed with it. With an
/// instance user, the directory and files are that user's; the root directory lets it pass, not list.
/// </summary>
internal static class SecretFiles
{
    private static readonly string Root = Path.Combine("/dev/shm", $"flotilla-secrets-{Environment.UserName}");

    public static string Write(string instanceId, string variable, string value, string workingDirectory, Isolation.InstanceUser? owner = null)
    {
        var shm = Directory.Exists("/dev/shm");
        var directory = shm ? Path.Combine(Root, instanceId) : Path.Combine(workingDirectory, ".secrets");
        if (shm && owner is not null)
        {
            Directory.CreateDirectory(Root, Isolation.FileOwnership.Traversable);
            File.SetUnixFileMode(Root, Isolation.FileOwnership.Traversable);
        }
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (owner is not null)
        {
            Isolation.FileOwnership.Give(directory, owner, Isolation.FileOwnership.Private);
        }
        var path = Path.Combine(directory, variable);
        using (var file = new FileStream(path, new FileStreamOptions { Mode = FileMode.Create, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite }))
        using (var writer = new StreamWriter(file))
        {
            writer.Write(value);
        }
        File.SetUnixFileMode(path, UnixFileMode.UserRead);
        if (owner is not null)
        {
            Isolation.FileOwnership.Give(path, owner, UnixFileMode.UserRead);
        }
        return path;
    }

    public static void Remove(string instanceId) => Directories.TryDelete(Path.Combine(Root, instanceId));
}
