using System.Text.Json;

namespace Flotilla.Federation;

/// <summary>
/// The federation's own state on disk (<c>federation.json</c>): the desired revision and each
/// cluster's progress. Written whole to a temporary file and renamed over the old one, so a crash
/// leaves either the old state or the new, never half of one.
/// </summary>
internal sealed class FederationFile(string directory)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web) { WriteIndented = true };
    private readonly Lock _gate = new();

    public string Path { get; } = System.IO.Path.Combine(directory, "federation.json");

    public sealed record Content(FederationRevision? Revision, IReadOnlyList<ClusterProgress> Clusters);

    public Content Read() => File.Exists(Path)
        ? JsonSerializer.Deserialize<Content>(File.ReadAllText(Path), Json) ?? new Content(null, [])
        : new Content(null, []);

    public void Write(Content content)
    {
        lock (_gate)
        {
            Directory.CreateDirectory(directory);
            var temporary = Path + ".tmp";
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write))
            {
                JsonSerializer.Serialize(stream, content, Json);
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, Path, overwrite: true);
        }
    }
}
