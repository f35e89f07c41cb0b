using k8s.Models;

namespace Flotilla.Kubernetes;

/// <summary>
/// Whether a Deployment is rolled out as <c>kubectl rollout status</c> judges it: its controller has seen
/// the latest generation, and as many pods as it asks for are available, all of the new template, with
/// no old one left. A Deployment that keeps its name and rolls (the router, when its state changes) still
/// counts the old ReplicaSet's pods as available, so every pod must also be of the new template.
/// </summary>
public static class RolloutStatus
{
    /// <summary>Null when rolled out; else why not, for people ("1 of 3 available, 3 updated, 1 old still running").</summary>
    public static string? NotRolledOut(V1Deployment found)
    {
        var want = found.Spec?.Replicas ?? 1;
        var available = found.Status?.AvailableReplicas ?? 0;
        var updated = found.Status?.UpdatedReplicas ?? 0;
        var all = found.Status?.Replicas ?? 0;
        var current = (found.Status?.ObservedGeneration ?? 0) >= (found.Metadata.Generation ?? 0);
        return !current || available < want || updated < want || all > updated
            ? $"{available} of {want} available, {updated} updated{(all > updated ? $", {all - updated} old still running" : "")}{(current ? "" : " (its controller has not seen the change yet)")}"
            : null;
    }
}
