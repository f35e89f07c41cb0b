using System.Text;

namespace Flotilla.Runtime;

/// <summary>The last lines of an instance log, for crash reasons shown in status.</summary>
public static class LogTail
{
    /// <summary>
    /// The program's own last lines, as " | "-joined text for a reason (empty when there are none):
    /// Flotilla's "--- … flotilla: starting" marker says nothing about why the program ended.
    /// </summary>
    public static string ProgramLines(string path, int lines = 3) =>
        string.Join(" | ", Read(path, lines + 1).Where(l => !l.StartsWith("--- ", StringComparison.Ordinal)).TakeLast(lines));

    public static IReadOnlyList<string> Read(string path, int lines = 10, int maxBytes = 16 * 1024)
    {
        try
        {
            using var stream = new FileStream(path, FileMode.Open, FileAccess.Read, FileShare.ReadWrite | FileShare.Delete);
            var start = Math.Max(0, stream.Length - maxBytes);
            stream.Seek(start, SeekOrigin.Begin);
            var buffer = new byte[stream.Length - start];
            stream.ReadExactly(buffer);
            var text = Encoding.UTF8.GetString(buffer);
            return text.Split('\n', StringSplitOptions.RemoveEmptyEntries).TakeLast(lines).Select(l => l.TrimEnd('\r')).ToList();
        }
        catch (IOException)
        {
            return [];
        }
        catch (UnauthorizedAccessException)
        {
            return [];
        }
    }
}
