namespace Flotilla.Federation;

/// <summary>A cluster as the federation drives it: its name, its kind (a runtime) and its engine (null: local processes, or the default engine).</summary>
public sealed record ClusterTarget(string Name, string Kind, string? Endpoint);
