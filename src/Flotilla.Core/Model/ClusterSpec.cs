namespace Flotilla.Model;

/// <summary>
/// One target of a federated system (<c>clusters:</c>): what runs its instances (<see cref="Kind"/>:
/// local processes, a Docker Engine or a Swarm manager at <see cref="Endpoint"/>) and what it
/// changes of the spec (<see cref="Overlay"/>: counts, zones, env, a port offset), read and applied
/// as an environment overlay is, after the environment's own.
/// </summary>
public sealed record ClusterSpec(string Name, string Kind, string? Endpoint, EnvironmentSpec Overlay, SpecLocation At);

/// <summary>How a release reaches the clusters: all at once, or one after the other, the first the canary of the rest.</summary>
public sealed record ClusterReleaseSpec(bool Ordered, TimeSpan Deadline, SpecLocation? At)
{
    /// <summary>How long a cluster may take to run the new revision ready before its release counts as failed.</summary>
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromMinutes(10);

    public static readonly ClusterReleaseSpec Parallel = new(false, DefaultDeadline, null);
}
