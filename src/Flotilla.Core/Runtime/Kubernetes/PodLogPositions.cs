using System.Text.Json;

namespace Flotilla.Runtime.Kubernetes;

/// <summary>
/// The pod log positions of one instance log, kept in a small file beside it (<c>ID.log.positions</c>,
/// JSON: pod name to the timestamp of the last line copied from it into this log and how many lines carried
/// that stamp). Written after the lines are appended, by a rename (a control plane killed mid-write leaves
/// the old file or the new, never half of one), so a restarted control plane resumes each adopted pod
/// exactly after the lines already in the log; only a death between the append and the rename repeats
/// those lines. A log's positions name its pods (one, a few after replacements); the oldest are dropped past <see cref="Kept"/>.
/// </summary>
internal static class PodLogPositions
{
    private const int Kept = 16;

    public static string PathOf(string logPath) => logPath + ".positions";

    /// <summary>Where <paramref name="pod"/>'s log was copied up to in the log at <paramref name="logPath"/>; null: nothing of it is there (or the file cannot be read: from the start, a line may repeat, none is lost).</summary>
    public static PodLogPosition? Read(string logPath, string pod) => Load(PathOf(logPath)).TryGetValue(pod, out var entry) ? new PodLogPosition(entry.At, entry.Count) : null;

    public static void Write(string logPath, string pod, PodLogPosition position)
    {
        var path = PathOf(logPath);
        var entries = Load(path);
        entries[pod] = new Entry(position.At, position.Count);
        var kept = entries.OrderByDescending(e => e.Value.At).Take(Kept).ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal);
        var temporary = $"{path}.{Environment.ProcessId}.{Environment.CurrentManagedThreadId}.tmp";
        File.WriteAllText(temporary, JsonSerializer.Serialize(kept));
        File.Move(temporary, path, overwrite: true);
    }

    private static Dictionary<string, Entry> Load(string path)
    {
        try
        {
            return JsonSerializer.Deserialize<Dictionary<string, Entry>>(File.ReadAllText(path)) is { } read
                ? new Dictionary<string, Entry>(read, StringComparer.Ordinal)
                : new Dictionary<string, Entry>(StringComparer.Ordinal);
        }
        catch (Exception e) when (e is IOException or JsonException or UnauthorizedAccessException)
        {
            return new Dictionary<string, Entry>(StringComparer.Ordinal);
        }
    }

    private sealed record Entry(DateTimeOffset At, int Count);
}
