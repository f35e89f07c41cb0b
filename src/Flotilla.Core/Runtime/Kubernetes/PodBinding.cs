namespace Flotilla.Runtime.Kubernetes;

/// <summary>
/// An instance as Flotilla names it, bound to one pod of its revision's ReplicaSet. A pod the
/// ReplicaSet replaces (it was deleted, evicted, or its node was lost) hands the instance on to the
/// replacement, so the instance lives as long as the ReplicaSet keeps a pod for it. <see cref="Pod"/>
/// is null while it waits for its pod. <see cref="Leaving"/>: Flotilla asked for it to go.
/// </summary>
internal sealed record PodBinding(string InstanceId, string Service, string Revision, string? Pod, bool Leaving, DateTimeOffset StartedAt, string? StopReason = null)
{
    public bool Gone { get; init; }
}
