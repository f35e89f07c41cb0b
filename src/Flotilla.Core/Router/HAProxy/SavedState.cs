using System.Text.Json;

namespace Flotilla.Router.HAProxy;

/// <summary>
/// What the engine last knew (endpoints, table, and each endpoint's descriptor number in the running master), kept
/// beside haproxy so that the next control plane adopts it whole. Descriptors is null in a file written before them.
/// </summary>
internal sealed record SavedState(IReadOnlyDictionary<string, int> Endpoints, RoutingTable Table, IReadOnlyDictionary<string, int>? Descriptors = null)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static void Save(string path, IReadOnlyDictionary<string, int> endpoints, RoutingTable table, IReadOnlyDictionary<string, int> descriptors)
    {
        var temporary = path + ".new";
        File.WriteAllText(temporary, JsonSerializer.Serialize(new SavedState(endpoints, table, descriptors), Json));
        File.Move(temporary, path, overwrite: true);
    }

    public static SavedState? Load(string path) => File.Exists(path) ? JsonSerializer.Deserialize<SavedState>(File.ReadAllText(path), Json) : null;
}
