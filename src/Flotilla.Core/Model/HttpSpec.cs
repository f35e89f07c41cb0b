namespace Flotilla.Model;

/// <summary>
/// How a service speaks HTTP: the fixed port of its stable endpoint (null: allocated),
/// and the probe paths. Without paths, readiness is a TCP connect to the instance's port.
/// </summary>
public sealed record HttpSpec(int? Port, string? Health, string? Ready);
