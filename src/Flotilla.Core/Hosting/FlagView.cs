using System.Text.Json.Nodes;

namespace Flotilla.Hosting;

/// <summary>One flag as list/get show it: what it serves, and whether an operator changed it at runtime (who, when, how it differs from the spec).</summary>
public sealed record FlagView(string Key, string State, string? DefaultVariant, IReadOnlyList<string> Variants, bool Targeting, JsonObject Definition,
    string Source, string? ChangedBy, DateTimeOffset? ChangedAt, string? Drift);
