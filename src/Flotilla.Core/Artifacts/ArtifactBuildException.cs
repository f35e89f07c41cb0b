namespace Flotilla.Artifacts;

/// <summary>A build that failed, with the tail of its output so the cause is visible without digging.</summary>
public sealed class ArtifactBuildException(string service, string message, IReadOnlyList<string> outputTail)
    : Exception($"service '{service}': {message}")
{
    public string Service { get; } = service;
    public IReadOnlyList<string> OutputTail { get; } = outputTail;
}
