using System.Security.Cryptography;
using System.Text;
using System.Text.Json.Nodes;

namespace Flotilla.Flags;

/// <summary>
/// A compiled, immutable set of flags (one flagd document) and the digest of its canonical JSON.
/// Changes build a new set and swap it whole, as the router's tables are.
/// </summary>
public sealed class FlagSet
{
    internal static readonly IReadOnlyDictionary<string, object?> NoMetadata = new Dictionary<string, object?>(StringComparer.Ordinal);

    internal FlagSet(IReadOnlyDictionary<string, Flag> flags, JsonObject document)
    {
        Flags = flags;
        Document = document.ToJsonString();
        Digest = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Document)))[..16];
        Ordered = flags.Values.OrderBy(f => f.Key, StringComparer.Ordinal).ToArray();
    }

    public static FlagSet Empty { get; } = new(new Dictionary<string, Flag>(StringComparer.Ordinal), new JsonObject { ["flags"] = new JsonObject() });

    public IReadOnlyDictionary<string, Flag> Flags { get; }

    /// <summary>Every flag, by key.</summary>
    public IReadOnlyList<Flag> Ordered { get; }

    /// <summary>The flagd document this set was compiled from, as compact JSON (what the router is sent).</summary>
    public string Document { get; }

    public string Digest { get; }

    public FlagResolution Evaluate(string key, EvaluationContext context, long? unixSeconds = null) =>
        Flags.TryGetValue(key, out var flag)
            ? flag.Evaluate(context, unixSeconds ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds())
            : FlagResolution.Failed(key, FlagErrors.FlagNotFound, $"flag '{key}' does not exist");

    /// <summary>Every flag for one context (OFREP's bulk evaluation): disabled ones too, with reason DISABLED.</summary>
    public IReadOnlyList<FlagResolution> EvaluateAll(EvaluationContext context, long? unixSeconds = null)
    {
        var now = unixSeconds ?? DateTimeOffset.UtcNow.ToUnixTimeSeconds();
        var results = new FlagResolution[Ordered.Count];
        for (var i = 0; i < results.Length; i++)
        {
            results[i] = Ordered[i].Evaluate(context, now);
        }
        return results;
    }
}
