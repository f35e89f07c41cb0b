using System.Runtime.InteropServices;

namespace Flotilla.Databases.Engines;

/// <summary>
/// fsync of a directory: a rename is durable only once the directory holding it is flushed, or a
/// power cut can bring the old name back. .NET cannot open a directory as a file, so open(2) it.
/// </summary>
internal static partial class DirectorySync
{
    private const int ReadOnlyDirectory = 0x10000 /* O_DIRECTORY */ | 0x80000 /* O_CLOEXEC */;

    public static void Flush(string directory)
    {
        var fd = Open(directory, ReadOnlyDirectory);
        if (fd < 0)
        {
            throw new IOException($"cannot open {directory} to flush it: {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
        }
        try
        {
            if (Fsync(fd) != 0)
            {
                throw new IOException($"cannot flush {directory} (fsync): {Marshal.GetPInvokeErrorMessage(Marshal.GetLastPInvokeError())}");
            }
        }
        finally
        {
            Close(fd);
        }
    }

    [LibraryImport("libc", EntryPoint = "open", StringMarshalling = StringMarshalling.Utf8, SetLastError = true)]
    private static partial int Open(string path, int flags);

    [LibraryImport("libc", EntryPoint = "fsync", SetLastError = true)]
    private static partial int Fsync(int fd);

    [LibraryImport("libc", EntryPoint = "close")]
    private static partial int Close(int fd);
}
