namespace Flotilla.Hosting;

/// <summary>
/// One control plane per data directory: two would adopt the same instances and fight over them.
/// An exclusive lock (flock, through FileShare.None) on <c>flotilla.lock</c>, released by the
/// kernel when the process ends, however it ends. The holder's pid goes in a file beside it (the
/// locked file itself cannot be read while locked), for the error message.
/// </summary>
internal sealed class DataDirectoryLock : IDisposable
{
    private readonly FileStream _file;

    private DataDirectoryLock(FileStream file) => _file = file;

    public static DataDirectoryLock Acquire(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = Path.Combine(directory, "flotilla.lock");
        try
        {
            var file = new FileStream(path, FileMode.OpenOrCreate, FileAccess.ReadWrite, FileShare.None);
            File.WriteAllText(path + ".pid", $"{Environment.ProcessId}\n");
            return new DataDirectoryLock(file);
        }
        catch (IOException)
        {
            var holder = "another process";
            try
            {
                holder = $"process {File.ReadAllText(path + ".pid").Trim()}";
            }
            catch (IOException)
            {
            }
            throw new ControlPlaneException($"another Flotilla control plane ({holder}) is running on {directory}; stop it first, or use another data directory", ControlPlaneError.Conflict);
        }
    }

    public void Dispose() => _file.Dispose();
}
