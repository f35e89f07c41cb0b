using k8s.Models;

namespace Flotilla.Kubernetes;

/// <summary>
/// A Deployment of an earlier revision of a service, still in the cluster: when it was created, how many
/// pods it asks for, and why it is not rolled out (null when it is fully available).
/// </summary>
public sealed record OldRevision(string Service, string Deployment, DateTime Created, int Replicas, string? NotRolledOut)
{
    /// <summary>The system's Deployments that the manifest no longer renders, each with its service (one without the label is never an old revision).</summary>
    public static IReadOnlyList<OldRevision> Of(KubernetesManifest manifest, IEnumerable<V1Deployment> live)
    {
        var rendered = manifest.Objects.OfType<V1Deployment>().Select(d => d.Metadata.Name).ToHashSet(StringComparer.Ordinal);
        return [.. live
            .Where(d => !rendered.Contains(d.Metadata.Name) && d.Metadata.Labels?.ContainsKey(KubernetesNames.ServiceLabel) == true)
            .Select(d => new OldRevision(d.Metadata.Labels[KubernetesNames.ServiceLabel], d.Metadata.Name, d.Metadata.CreationTimestamp ?? DateTime.MaxValue,
                d.Spec?.Replicas ?? 1, RolloutStatus.NotRolledOut(d)))];
    }
}
