using System.Text.Json.Nodes;
using System.Text.Json.Serialization;

namespace Flotilla.Hosting;

/// <summary>
/// A revision's flags: the flagd document as the spec (and its environment) declares it, the flag
/// port, and whether the spec asked for strict checking (then a runtime change with a questionable
/// rule is refused, as the file would be). Strict is left out of the JSON when false, so the
/// revisions recorded before it existed read the same. Keyed: the revision's instances were given the
/// flags' URL with the environment's access key in it; a revision recorded before keys existed was
/// not, so its flags are served at the root until an apply records a keyed one.
/// </summary>
public sealed record FlagsState(string Document, int Port,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool Strict = false,
    [property: JsonIgnore(Condition = JsonIgnoreCondition.WhenWritingDefault)] bool Keyed = false)
{
    /// <summary>Each flag's definition by key, as compact JSON (to compare two revisions or a runtime change).</summary>
    public IReadOnlyDictionary<string, string> Definitions() =>
        (JsonNode.Parse(Document)?["flags"] as JsonObject ?? []).ToDictionary(f => f.Key, f => f.Value?.ToJsonString() ?? "null", StringComparer.Ordinal);

    /// <summary>What changed in the flags between two revisions, in words.</summary>
    public static IEnumerable<string> Changes(FlagsState? before, FlagsState? after)
    {
        var old = before?.Definitions() ?? new Dictionary<string, string>();
        var now = after?.Definitions() ?? new Dictionary<string, string>();
        var added = now.Keys.Where(k => !old.ContainsKey(k)).Select(k => $"+flag {k}");
        var removed = old.Keys.Where(k => !now.ContainsKey(k)).Select(k => $"-flag {k}");
        var changed = now.Where(f => old.TryGetValue(f.Key, out var o) && o != f.Value).Select(f => $"flag {f.Key} changed");
        return added.Concat(changed).Concat(removed);
    }
}
