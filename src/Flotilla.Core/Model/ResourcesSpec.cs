namespace Flotilla.Model;

/// <summary>Declared limits: CPU in cores (0.5 = half a core) and memory in bytes.</summary>
public sealed record ResourcesSpec(double? Cpu, long? MemoryBytes);
