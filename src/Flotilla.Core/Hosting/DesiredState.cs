using System.Text.Json;
using Flotilla.Controllers.InstanceSets;
using Flotilla.Store;

namespace Flotilla.Hosting;

/// <summary>
/// What one revision runs, fully resolved: every service with its artifact, command, environment
/// and probes, and the endpoint port of each service. Stored as JSON with the revision, so a
/// restarted control plane runs exactly what was applied without rebuilding or re-reading files.
/// </summary>
public sealed record DesiredState(string System, string? Environment, IReadOnlyList<string> Zones, IReadOnlyList<DesiredService> Services, IReadOnlyDictionary<string, int> Endpoints)
{
    /// <summary>The revision's flags (one flagd document) and the port they are served on; null when the spec has none.</summary>
    public FlagsState? Flags { get; init; }

    /// <summary>The database engines of the revision (those Flotilla runs are kept running by the engine controller); null: none.</summary>
    public IReadOnlyList<Model.EngineSpec>? Engines { get; init; }

    /// <summary>Each service's database as declared, by service; null: none.</summary>
    public IReadOnlyDictionary<string, Model.DatabaseSpec>? Databases { get; init; }

    public static DesiredState Empty { get; } = new("", null, [], [], new Dictionary<string, int>());

    public string ToJson() => JsonSerializer.Serialize(this, StoreJournal.Json);

    public static DesiredState FromJson(string json) => JsonSerializer.Deserialize<DesiredState>(json, StoreJournal.Json)
        ?? throw new JsonException("a revision's desired state is empty");

    public DesiredService? Find(string service) => Services.FirstOrDefault(s => s.Name == service);

    /// <summary>
    /// The services as the controllers should run them now: operator overrides and zones that are down
    /// applied (no zones for an engine that places instances itself); a function runs as many instances as demand asks (<paramref name="functionCounts"/>), its
    /// <c>scale.min</c> until the autoscaler has spoken, none while it is stopped.
    /// </summary>
    public IReadOnlyList<DesiredService> Compose(IReadOnlyDictionary<string, ServiceOverride> overrides, IReadOnlySet<string> zonesDown, IReadOnlyDictionary<string, int>? functionCounts = null)
    {
        var zones = Zones.Where(z => !zonesDown.Contains(z)).ToList();
        return Services.Select(s =>
        {
            var own = overrides.GetValueOrDefault(s.Name);
            var instances = own is { Stopped: true } ? 0
                : s.Function is not null ? functionCounts?.GetValueOrDefault(s.Name, s.Instances) ?? s.Instances
                : own?.Instances ?? s.Instances;
            return s with { Instances = instances, Zones = Model.RuntimeKind.IsCluster(s.RuntimeName) ? [] : zones, Paused = own?.Paused ?? false };
        }).ToList();
    }

    /// <summary>What changed from <paramref name="previous"/>, in words, for history and audit.</summary>
    public string Summarize(DesiredState previous)
    {
        var changes = new List<string>();
        foreach (var service in Services)
        {
            var before = previous.Find(service.Name);
            if (before is null)
            {
                changes.Add($"+{service.Name} ({service.Instances})");
            }
            else if (before.Revision != service.Revision)
            {
                changes.Add($"{service.Name} {before.Revision[..Math.Min(7, before.Revision.Length)]}→{service.Revision[..Math.Min(7, service.Revision.Length)]}");
            }
            else if (before.Instances != service.Instances)
            {
                changes.Add($"{service.Name} {before.Instances}→{service.Instances} instances");
            }
        }
        changes.AddRange(previous.Services.Where(s => Find(s.Name) is null).Select(s => $"-{s.Name}"));
        if (!previous.Zones.SequenceEqual(Zones))
        {
            changes.Add($"zones [{string.Join(", ", Zones)}]");
        }
        changes.AddRange(FlagsState.Changes(previous.Flags, Flags));
        if (previous.Environment != Environment && previous.Services.Count > 0)
        {
            changes.Add($"environment {previous.Environment ?? "(base)"}→{Environment ?? "(base)"}");
        }
        return changes.Count == 0 ? "no change to what runs" : string.Join(", ", changes);
    }
}
