namespace Flotilla.Tests.Support;

/// <summary>A directory under /tmp that is removed when the test ends.</summary>
public sealed class TempDirectory : IDisposable
{
    public TempDirectory(string prefix = "flotilla-test")
    {
        Path = System.IO.Path.Combine(System.IO.Path.GetTempPath(), $"{prefix}-{Guid.NewGuid():N}"[..(prefix.Length + 13)]);
        Directory.CreateDirectory(Path);
    }

    public string Path { get; }

    public string Write(string relative, string content)
    {
        var file = System.IO.Path.Combine(Path, relative);
        Directory.CreateDirectory(System.IO.Path.GetDirectoryName(file)!);
        File.WriteAllText(file, content);
        return file;
    }

    public void Dispose()
    {
        try
        {
            Directory.Delete(Path, recursive: true);
        }
        catch (DirectoryNotFoundException)
        {
        }
        // Control planes run as root give each service a Unix user of its own, kept by design: a test's are removed with its directory.
        if (Environment.IsPrivilegedProcess && File.ReadAllText("/etc/passwd").Contains(" of " + Path, StringComparison.Ordinal))
        {
            global::Flotilla.Isolation.InstanceUsers.RemoveUnder(Path);
        }
    }
}
