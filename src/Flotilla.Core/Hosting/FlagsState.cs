using System.Text.Json.Nodes;

namespace Flotilla.Hosting;

/// <summary>A revision's flags: the flagd document as the spec (and its environment) declares it, and the flag port.</summary>
public sealed record FlagsState(string Document, int Port)
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
