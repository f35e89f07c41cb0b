namespace Flotilla.Federation;

/// <summary>
/// What a federated system should run, as applied: the spec text (each cluster's spec is derived
/// from it again after a restart), its environment, the clusters in release order (with their kind and engine, so a restart finds them even if the spec no longer parses) and how a release
/// reaches them. Numbered: each apply that changes something is the next number.
/// </summary>
public sealed record FederationRevision(
    long Number,
    string SpecYaml,
    string SpecFile,
    string? Environment,
    string Actor,
    DateTimeOffset At,
    IReadOnlyList<ClusterTarget> Targets,
    bool Ordered,
    TimeSpan Deadline,
    string? GitCommit = null)
{
    /// <summary>The clusters' names in release order.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyList<string> Clusters => [.. Targets.Select(t => t.Name)];
}
