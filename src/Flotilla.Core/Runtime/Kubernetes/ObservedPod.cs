using k8s.Models;

namespace Flotilla.Runtime.Kubernetes;

/// <summary>
/// One pod of a revision's ReplicaSet as the API server reports it: where it runs, whether the
/// kubelet calls it Ready, whether it is on its way out (a deletion timestamp: the ReplicaSet, a
/// person or an eviction is removing it) and why it does not run when it does not.
/// </summary>
internal sealed record ObservedPod(
    string Name,
    string Service,
    string Revision,
    string? Ip,
    string Phase,
    bool Ready,
    bool Terminating,
    DateTimeOffset CreatedAt,
    string? Node,
    string? Problem,
    int? ExitCode,
    string? DeletionCost)
{
    /// <summary>The ReplicaSet counts it: not being deleted, not ended.</summary>
    public bool Live => !Terminating && Phase is not ("Failed" or "Succeeded");

    public bool Running => Phase == "Running";

    public static ObservedPod? From(V1Pod pod)
    {
        var labels = pod.Metadata?.Labels;
        if (pod.Metadata?.Name is not { } name || labels is null
            || !labels.TryGetValue(ReplicaSets.ServiceLabel, out var service) || !labels.TryGetValue(ReplicaSets.RevisionLabel, out var revision))
        {
            return null;
        }
        var container = pod.Status?.ContainerStatuses?.FirstOrDefault();
        var problem = container?.State?.Waiting is { Reason: { Length: > 0 } waiting } w ? $"{waiting}{(w.Message is { Length: > 0 } m ? $": {m}" : "")}"
            : container?.State?.Terminated is { } t ? $"exited ({t.ExitCode}){(t.Reason is { Length: > 0 } r ? $": {r}" : "")}"
            : pod.Status?.Conditions?.FirstOrDefault(c => c.Type == "PodScheduled" && c.Status == "False") is { } unscheduled ? $"not scheduled: {unscheduled.Message ?? unscheduled.Reason}"
            : null;
        return new ObservedPod(
            name,
            service,
            revision,
            pod.Status?.PodIP is { Length: > 0 } ip ? ip : null,
            pod.Status?.Phase ?? "Pending",
            pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true,
            pod.Metadata.DeletionTimestamp is not null,
            new DateTimeOffset(DateTime.SpecifyKind(pod.Metadata.CreationTimestamp ?? DateTime.UnixEpoch, DateTimeKind.Utc)),
            pod.Spec?.NodeName,
            problem,
            container?.State?.Terminated?.ExitCode ?? container?.LastState?.Terminated?.ExitCode,
            pod.Metadata.Annotations?.TryGetValue(ReplicaSets.DeletionCostAnnotation, out var cost) == true ? cost : null);
    }
}
