namespace Flotilla.Model;

/// <summary>
/// One target of a federated system (<c>clusters:</c>): what runs its instances (<see cref="Kind"/>:
/// local processes, a Docker Engine or a Swarm manager at <see cref="Endpoint"/>, or a Kubernetes
/// context, <see cref="Kubernetes"/>) and what it changes of the spec (<see cref="Overlay"/>: counts,
/// zones, env, a port offset), read and applied as an environment overlay is, after the environment's own.
/// </summary>
public sealed record ClusterSpec(string Name, string Kind, string? Endpoint, EnvironmentSpec Overlay, SpecLocation At, ClusterContextSpec? Kubernetes = null)
{
    /// <summary>What makes two clusters the same target (one engine, or one context and namespace).</summary>
    public string Identity => Kubernetes?.Identity ?? $"{Kind} at {Endpoint ?? "the default endpoint"}";
}
