namespace Flotilla.Model;

/// <summary>
/// A whole system as declared in flotilla.yaml. <see cref="Services"/> are ordered so that
/// every service comes after the services it depends on.
/// </summary>
public sealed record SystemSpec(
    string Name,
    string Directory,
    string File,
    IReadOnlyList<ServiceSpec> Services,
    IReadOnlyDictionary<string, EnvironmentSpec> Environments,
    string? Environment,
    IReadOnlyList<string>? Zones = null,
    FlagsSpec? Flags = null,
    string? Runtime = null,
    IReadOnlyList<EngineSpec>? Engines = null)
{
    /// <summary>The database engines declared; empty when every database is SQLite (or there is none).</summary>
    public IReadOnlyList<EngineSpec> EngineList => Engines ?? [];

    /// <summary>What runs the instances (<see cref="RuntimeKind"/>); local processes unless the spec or its environment says otherwise.</summary>
    public string RuntimeName => Runtime ?? RuntimeKind.Local;

    /// <summary>The failure domains instances are spread over; empty when none are declared.</summary>
    public IReadOnlyList<string> ZoneNames => Zones ?? [];

    public ServiceSpec? Find(string service) => Services.FirstOrDefault(s => s.Name == service);

    /// <summary>The targets a federated system runs on (<c>clusters:</c>), in release order; empty: this control plane's own runtime.</summary>
    public IReadOnlyList<ClusterSpec> Clusters { get; init; } = [];

    /// <summary>How a release reaches the <see cref="Clusters"/>.</summary>
    public ClusterReleaseSpec ClusterRelease { get; init; } = ClusterReleaseSpec.Parallel;

    /// <summary>What the spec's files may not mean as written but are used anyway (flag rules flagd serves although broken), by file, line and column.</summary>
    public IReadOnlyList<SpecError> Warnings { get; init; } = [];
}
