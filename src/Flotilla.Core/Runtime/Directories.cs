namespace Flotilla.Runtime;

internal static class Directories
{
    /// <summary>Removes a directory tree if it is there; a file still held or not ours is left (best effort: a cleanup never fails what it follows).</summary>
    public static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
