using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Flotilla.Runtime.Kubernetes;

/// <summary>
/// What the Kubernetes driver says to the API server about ReplicaSets and pods: list this control
/// plane's ReplicaSets (by its owner label), create one by server-side apply (field manager
/// <c>flotilla</c>, forced: Flotilla owns what it renders), set replicas, mark a drained pod as the
/// cheapest to delete (and take the mark off a pod that serves), and delete an emptied ReplicaSet. Each is one idempotent request.
/// </summary>
internal sealed class ReplicaSetApi(IKubernetes client, string ns, string owner)
{
    /// <summary>A ReplicaSet of this control plane as listed.</summary>
    public sealed record Listed(string Name, string Service, string Revision, int Replicas, string? ReadyPath, bool HasSecret = false);

    public async Task<IReadOnlyList<Listed>> ListAsync(CancellationToken cancellationToken)
    {
        var list = await client.AppsV1.ListNamespacedReplicaSetAsync(ns, labelSelector: ReplicaSets.Selector(owner), cancellationToken: cancellationToken);
        return list.Items
            .Where(r => r.Metadata?.Labels is { } l && l.ContainsKey(ReplicaSets.ServiceLabel) && l.ContainsKey(ReplicaSets.RevisionLabel))
            .Select(r => new Listed(
                r.Metadata.Name,
                r.Metadata.Labels[ReplicaSets.ServiceLabel],
                r.Metadata.Labels[ReplicaSets.RevisionLabel],
                r.Spec?.Replicas ?? 0,
                r.Metadata.Annotations?.TryGetValue(ReplicaSets.ReadyPathAnnotation, out var path) == true && path.Length > 0 ? path : null,
                // Its revision's Secret (same name) goes with it: referred to by a volume or an environment variable.
                r.Spec?.Template?.Spec?.Volumes?.Any(v => v.Secret?.SecretName == r.Metadata.Name) == true
                    || r.Spec?.Template?.Spec?.Containers?.Any(c => c.Env?.Any(e => e.ValueFrom?.SecretKeyRef?.Name == r.Metadata.Name) == true) == true))
            .ToList();
    }

    public Task<V1ReplicaSet> ApplyAsync(V1ReplicaSet replicaSet, CancellationToken cancellationToken) =>
        client.AppsV1.PatchNamespacedReplicaSetAsync(new V1Patch(replicaSet, V1Patch.PatchType.ApplyPatch), replicaSet.Metadata.Name, ns,
            fieldManager: ReplicaSets.FieldManager, force: true, cancellationToken: cancellationToken);

    /// <summary>Only the count: after a restart Flotilla has no launch to re-apply the whole object from, and need not.</summary>
    public async Task ScaleAsync(string name, int replicas, CancellationToken cancellationToken)
    {
        var patch = new V1Patch($$$"""{"spec":{"replicas":{{{replicas}}}}}""", V1Patch.PatchType.MergePatch);
        await Tolerating404(() => client.AppsV1.PatchNamespacedReplicaSetAsync(patch, name, ns, fieldManager: ReplicaSets.FieldManager, cancellationToken: cancellationToken));
    }

    /// <summary>Makes the pod the first the ReplicaSet removes on its next scale-down (among its ready pods).</summary>
    public async Task MarkDrainedAsync(string pod, CancellationToken cancellationToken)
    {
        var patch = new V1Patch("{\"metadata\":{\"annotations\":{\"" + ReplicaSets.DeletionCostAnnotation + "\":\"" + ReplicaSets.DrainedCost + "\"}}}", V1Patch.PatchType.MergePatch);
        await Tolerating404(() => client.CoreV1.PatchNamespacedPodAsync(patch, pod, ns, fieldManager: ReplicaSets.FieldManager, cancellationToken: cancellationToken));
    }

    /// <summary>The revision's Secret, by server-side apply as the ReplicaSet (its values are in the request body only).</summary>
    public Task ApplySecretAsync(V1Secret secret, CancellationToken cancellationToken) =>
        client.CoreV1.PatchNamespacedSecretAsync(new V1Patch(secret, V1Patch.PatchType.ApplyPatch), secret.Metadata.Name, ns,
            fieldManager: ReplicaSets.FieldManager, force: true, cancellationToken: cancellationToken);

    /// <summary>
    /// This control plane's Secrets (by its owner label), for <see cref="LeftoverSecrets"/>: their metadata
    /// only (a PartialObjectMetadataList, as client-go's metadata client asks), so no value crosses the wire
    /// at each sweep; a server that does not serve that form answers the whole list, which reads the same.
    /// </summary>
    public async Task<IReadOnlyList<LeftoverSecrets.Listed>> ListSecretsAsync(CancellationToken cancellationToken)
    {
        using var response = await client.CoreV1.ListNamespacedSecretWithHttpMessagesAsync(ns, labelSelector: ReplicaSets.Selector(owner),
            customHeaders: MetadataOnly, cancellationToken: cancellationToken);
        // An empty metadata list comes as "items": null (the server's PartialObjectMetadataList is built from nothing).
        return (response.Body.Items ?? [])
            .Where(s => s.Metadata?.Name is not null && s.Metadata.Labels?.TryGetValue(ReplicaSets.OwnerLabel, out var labelled) == true && labelled == owner)
            .Select(s => new LeftoverSecrets.Listed(s.Metadata.Name, s.Metadata.OwnerReferences is { Count: > 0 },
                s.Metadata.CreationTimestamp is { } made ? new DateTimeOffset(made.Kind == DateTimeKind.Local ? made.ToUniversalTime() : DateTime.SpecifyKind(made, DateTimeKind.Utc)) : null,
                s.Metadata.Uid))
            .ToList();
    }

    private const string MetadataOnlyAccept = "application/json;as=PartialObjectMetadataList;g=meta.k8s.io;v=v1, application/json;q=0.9";

    private static readonly IReadOnlyDictionary<string, IReadOnlyList<string>> MetadataOnly =
        new Dictionary<string, IReadOnlyList<string>> { ["Accept"] = [MetadataOnlyAccept] };

    /// <summary>The revision's Secret goes with its ReplicaSet (none there: nothing to do).</summary>
    public Task DeleteSecretAsync(string name, CancellationToken cancellationToken) =>
        Tolerating404(() => client.CoreV1.DeleteNamespacedSecretAsync(name, ns, cancellationToken: cancellationToken));

    /// <summary>What became of a Secret found left.</summary>
    public enum LeftSecretDeletion { Deleted, AlreadyGone, MadeAgain }

    /// <summary>
    /// A Secret found left, deleted only if it is still the one listed (a uid precondition): one deleted and
    /// made again under that name since (a new uid) answers 409 and is kept.
    /// </summary>
    public async Task<LeftSecretDeletion> DeleteListedSecretAsync(string name, string uid, CancellationToken cancellationToken)
    {
        try
        {
            await client.CoreV1.DeleteNamespacedSecretAsync(name, ns, new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = uid } },
                cancellationToken: cancellationToken);
            return LeftSecretDeletion.Deleted;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return LeftSecretDeletion.AlreadyGone;
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            return LeftSecretDeletion.MadeAgain;
        }
    }

    /// <summary>Takes the drained mark off a pod that serves (merge patch with null removes the annotation).</summary>
    public async Task UnmarkAsync(string pod, CancellationToken cancellationToken)
    {
        var patch = new V1Patch("{\"metadata\":{\"annotations\":{\"" + ReplicaSets.DeletionCostAnnotation + "\":null}}}", V1Patch.PatchType.MergePatch);
        await Tolerating404(() => client.CoreV1.PatchNamespacedPodAsync(patch, pod, ns, fieldManager: ReplicaSets.FieldManager, cancellationToken: cancellationToken));
    }

    public Task DeleteAsync(string name, CancellationToken cancellationToken) =>
        Tolerating404(() => client.AppsV1.DeleteNamespacedReplicaSetAsync(name, ns, propagationPolicy: "Background", cancellationToken: cancellationToken));

    /// <summary>Gone since it was listed: the next pass sees it as it is now.</summary>
    private static async Task Tolerating404(Func<Task> request)
    {
        try
        {
            await request();
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
        }
    }
}
