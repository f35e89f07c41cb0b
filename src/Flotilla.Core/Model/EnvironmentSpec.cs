namespace Flotilla.Model;

/// <summary>
/// An environment overlay (dev, staging, prod): values for all services, then per service.
/// Per-service values win over environment-wide ones, which win over the base spec.
/// </summary>
public sealed record EnvironmentSpec(
    string Name,
    int? Instances,
    IReadOnlyDictionary<string, string> Env,
    IReadOnlyDictionary<string, ServiceOverlaySpec> Services,
    SpecLocation At,
    IReadOnlyList<string>? Zones = null,
    FlagsDeclaration? Flags = null,
    int PortOffset = 0,
    string? Runtime = null,
    IReadOnlyList<EngineSpec>? Engines = null);

/// <summary>What an environment may change of one service.</summary>
public sealed record ServiceOverlaySpec(int? Instances, IReadOnlyDictionary<string, string> Env, ResourcesSpec? Resources, SpecLocation At, DatabaseOverlaySpec? Database = null);
