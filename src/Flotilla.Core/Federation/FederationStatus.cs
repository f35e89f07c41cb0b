namespace Flotilla.Federation;

/// <summary>A federated system: the revision applied, how releases go (ordered or not) and every cluster, in release order.</summary>
public sealed record FederationStatus(string? Environment, long Revision, string? Actor, DateTimeOffset? At, bool Ordered, IReadOnlyList<ClusterStatus> Clusters)
{
    /// <summary>Every cluster answers and runs the revision ready.</summary>
    public bool AllHealthy => Clusters.All(c => c.Reachable == true && c.Revision == Revision && c.Health == "healthy");
}
