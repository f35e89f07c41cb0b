using Flotilla.Model;
using Flotilla.Runtime.Kubernetes;

namespace Flotilla.Federation;

/// <summary>
/// The kubeconfig contexts of a spec's <c>kind: kubernetes</c> clusters, read at apply on the server (whose
/// KUBECONFIG and home count, as for kubectl run there): a context that the kubeconfig does not have is
/// refused at its line in the spec, naming the contexts that exist, before anything is built or recorded.
/// </summary>
internal static class ClusterContexts
{
    /// <summary>One error per cluster whose context cannot be used.</summary>
    public static IReadOnlyList<SpecError> Errors(IReadOnlyList<ClusterSpec> clusters)
    {
        var errors = new List<SpecError>();
        foreach (var cluster in clusters)
        {
            if (cluster.Kubernetes is not { } where)
            {
                continue;
            }
            try
            {
                KubeconfigContexts.Resolve(where.Kubeconfig, where.Context);
            }
            catch (KubernetesApplyException e)
            {
                var fix = where.Kubeconfig is null ? "; give the cluster 'kubeconfig: FILE', or set KUBECONFIG for the server" : "";
                errors.Add(new SpecError(where.ContextAt, $"clusters.{cluster.Name}.context", $"cluster '{cluster.Name}': {e.Message.Replace("; pass --kubeconfig FILE or set KUBECONFIG, as for kubectl", "", StringComparison.Ordinal)}{fix}"));
            }
        }
        return errors;
    }

    /// <summary>Every cluster's spec (<see cref="ClusterOverlay.All"/>); throws <see cref="SpecException"/> with its errors and the contexts' together.</summary>
    public static IReadOnlyList<(ClusterSpec Cluster, SystemSpec Spec)> Overlay(SystemSpec spec)
    {
        var errors = Errors(spec.Clusters);
        IReadOnlyList<(ClusterSpec Cluster, SystemSpec Spec)> overlaid;
        try
        {
            overlaid = ClusterOverlay.All(spec);
        }
        catch (SpecException e) when (errors.Count > 0)
        {
            throw new SpecException([.. e.Errors, .. errors]);
        }
        return errors.Count > 0 ? throw new SpecException(errors) : overlaid;
    }
}
