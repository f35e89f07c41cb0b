using System.Text.Json;

namespace Flotilla.Router.HAProxy;

/// <summary>What the engine last knew (endpoints and table), kept beside haproxy so that the next control plane adopts it whole.</summary>
internal sealed record SavedState(IReadOnlyDictionary<string, int> Endpoints, RoutingTable Table)
{
    private static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public static void Save(string path, IReadOnlyDictionary<string, int> endpoints, RoutingTable table)
    {
        var temporary = path + ".new";
        File.WriteAllText(temporary, JsonSerializer.Serialize(new SavedState(endpoints, table), Json));
        File.Move(temporary, path, overwrite: true);
    }

    public static SavedState? Load(string path) => File.Exists(path) ? JsonSerializer.Deserialize<SavedState>(File.ReadAllText(path), Json) : null;
}
