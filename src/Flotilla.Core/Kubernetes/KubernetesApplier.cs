using System.Net;
using System.Text.Json;
using Flotilla.Runtime.Kubernetes;
using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Flotilla.Kubernetes;

/// <summary>
/// Applies rendered objects to a cluster with server-side apply (field manager <c>flotilla</c>, forced:
/// Flotilla owns the fields it renders, and a hand edit of one of them is taken back), in the
/// render's order so the namespace exists before what lives in it. Each object is one request and
/// idempotent: an apply cut short is finished by running it again. Objects of earlier revisions are
/// left in place (a release moves replicas between revisions; nothing is pruned here). A Service is
/// read first: one that cannot become the rendered one in place (<see cref="ServiceReplacement"/>) is
/// deleted, and applied once it is gone.
/// </summary>
public sealed class KubernetesApplier(IKubernetes client, TimeSpan deleteTimeout)
{
    public const string FieldManager = KubernetesNames.FieldManager;

    private static readonly TimeSpan DeletePoll = TimeSpan.FromMilliseconds(250);

    /// <param name="client">The cluster's API.</param>
    /// <remarks>A Service deleted to be created again is waited for up to a minute (a finalizer may hold it).</remarks>
    public KubernetesApplier(IKubernetes client)
        : this(client, TimeSpan.FromMinutes(1))
    {
    }

    /// <summary>The objects in order, each with what the server answered; stops at the first refusal, naming the object.</summary>
    public async Task<IReadOnlyList<AppliedObject>> ApplyAsync(KubernetesManifest manifest, CancellationToken cancellationToken)
    {
        var applied = new List<AppliedObject>();
        foreach (var item in manifest.Objects)
        {
            var meta = ((IKubernetesObject<V1ObjectMeta>)item).Metadata;
            var what = $"{item.Kind} {(meta.NamespaceProperty is { } ns ? ns + "/" : "")}{meta.Name}";
            string? replaced = null;
            try
            {
                if (item is V1Service service)
                {
                    replaced = await ReplaceIfNeededAsync(service, what, cancellationToken);
                }
                var answer = await ApplyOneAsync(item, meta.Name, meta.NamespaceProperty, cancellationToken);
                applied.Add(new AppliedObject(item.Kind, meta.NamespaceProperty, meta.Name, answer.Metadata.ResourceVersion, replaced));
            }
            catch (HttpOperationException e)
            {
                var gone = replaced is null ? "" : $" ({what} was deleted to be created again: it is missing until an apply succeeds)";
                throw new KubernetesApplyException($"applying {what}: the API server answered {(int)e.Response.StatusCode} {e.Response.StatusCode}: {Reason(e.Response.Content)}{Fix(e.Response.StatusCode, e.Response.Content, item.Kind, meta)}{gone}", e);
            }
            catch (HttpRequestException e)
            {
                throw new KubernetesApplyException($"applying {what}: the API server at {client.BaseUri} cannot be reached ({e.Message}); check the context's server and that the cluster is up, then apply again (what was applied stays, applying is idempotent)", e);
            }
        }
        return applied;
    }

    /// <summary>
    /// Reads the live Service; when it cannot become <paramref name="rendered"/> in place, deletes it and waits
    /// (bounded) until it is gone, so the apply that follows creates it rather than updating a terminating one.
    /// Returns why it was replaced, or null when it was not.
    /// </summary>
    private async Task<string?> ReplaceIfNeededAsync(V1Service rendered, string what, CancellationToken ct)
    {
        var name = rendered.Metadata.Name;
        var ns = rendered.Metadata.NamespaceProperty;
        if (await ReadServiceAsync(name, ns, ct) is not { } live || ServiceReplacement.Reason(live, rendered) is not { } reason)
        {
            return null;
        }
        if (!ServiceReplacement.IsOurs(live, rendered))
        {
            throw new KubernetesApplyException($"applying {what}: {reason}, and it is not Flotilla's (no labels {KubernetesNames.ManagedByLabel}={KubernetesNames.FieldManager} and {KubernetesNames.SystemLabel} of this system), so Flotilla does not delete it: delete it yourself (kubectl -n {ns} delete service {name}) and apply again, or give the service another name");
        }
        try
        {
            // Only the Service that was read: one made again by someone else meanwhile is theirs.
            await client.CoreV1.DeleteNamespacedServiceAsync(name, ns, new V1DeleteOptions { Preconditions = new V1Preconditions { Uid = live.Metadata.Uid } }, cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.Conflict)
        {
            throw new KubernetesApplyException($"applying {what}: {reason}, but it was made again by someone else while Flotilla was replacing it ({Reason(e.Response.Content)}); apply again", e);
        }
        var deadline = DateTime.UtcNow + deleteTimeout;
        try
        {
            // Gone, or made again by someone else (another uid): either way the apply goes on.
            while (await ReadServiceAsync(name, ns, ct) is { } terminating && terminating.Metadata.Uid == live.Metadata.Uid)
            {
                if (DateTime.UtcNow >= deadline)
                {
                    var finalizers = terminating.Metadata.Finalizers is { Count: > 0 } f ? $" (finalizers: {string.Join(", ", f)})" : "";
                    throw new KubernetesApplyException($"applying {what}: {reason}, so it was deleted to be created again, but it is still there after {deleteTimeout.TotalSeconds:0} s{finalizers}; apply again once 'kubectl -n {ns} get service {name}' finds nothing");
                }
                await Task.Delay(DeletePoll, ct);
            }
        }
        catch (OperationCanceledException e) when (ct.IsCancellationRequested)
        {
            throw new KubernetesApplyException($"applying {what}: stopped while waiting for it to be deleted ({reason}); it is missing until an apply succeeds: apply again", e);
        }
        catch (HttpOperationException e)
        {
            throw new KubernetesApplyException($"applying {what}: it was deleted to be created again ({reason}), and reading it back was answered {(int)e.Response.StatusCode} {e.Response.StatusCode}: {Reason(e.Response.Content)}; it is missing until an apply succeeds: apply again", e);
        }
        return reason;
    }

    private async Task<V1Service?> ReadServiceAsync(string name, string ns, CancellationToken ct)
    {
        try
        {
            return await client.CoreV1.ReadNamespacedServiceAsync(name, ns, cancellationToken: ct);
        }
        catch (HttpOperationException e) when (e.Response.StatusCode == HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    private async Task<IKubernetesObject<V1ObjectMeta>> ApplyOneAsync(IKubernetesObject item, string name, string? ns, CancellationToken ct)
    {
        var patch = new V1Patch(item, V1Patch.PatchType.ApplyPatch);
        return item switch
        {
            V1Namespace => await client.CoreV1.PatchNamespaceAsync(patch, name, fieldManager: KubernetesNames.FieldManager, force: true, cancellationToken: ct),
            V1ResourceQuota => await client.CoreV1.PatchNamespacedResourceQuotaAsync(patch, name, ns, fieldManager: KubernetesNames.FieldManager, force: true, cancellationToken: ct),
            V1Secret => await client.CoreV1.PatchNamespacedSecretAsync(patch, name, ns, fieldManager: KubernetesNames.FieldManager, force: true, cancellationToken: ct),
            V1ConfigMap => await client.CoreV1.PatchNamespacedConfigMapAsync(patch, name, ns, fieldManager: KubernetesNames.FieldManager, force: true, cancellationToken: ct),
            V1Service => await client.CoreV1.PatchNamespacedServiceAsync(patch, name, ns, fieldManager: KubernetesNames.FieldManager, force: true, cancellationToken: ct),
            V1Deployment => await client.AppsV1.PatchNamespacedDeploymentAsync(patch, name, ns, fieldManager: KubernetesNames.FieldManager, force: true, cancellationToken: ct),
            V1PodDisruptionBudget => await client.PolicyV1.PatchNamespacedPodDisruptionBudgetAsync(patch, name, ns, fieldManager: KubernetesNames.FieldManager, force: true, cancellationToken: ct),
            _ => throw new InvalidOperationException($"no apply for {item.Kind}: the renderer made an object the applier does not know"),
        };
    }

    /// <summary>The message of the API server's Status object, or its raw answer.</summary>
    internal static string Reason(string? content)
    {
        if (content is null)
        {
            return "(no body)";
        }
        try
        {
            using var status = JsonDocument.Parse(content);
            return status.RootElement.TryGetProperty("message", out var message) ? message.GetString() ?? content : content;
        }
        catch (JsonException)
        {
            return content.Length > 300 ? content[..300] : content;
        }
    }

    private static string Fix(HttpStatusCode status, string? content, string kind, V1ObjectMeta meta) => status switch
    {
        HttpStatusCode.Unauthorized => "; the context's credentials were refused: log in again (kubectl auth whoami shows who you are)",
        HttpStatusCode.Forbidden => "; the context's user may not do this: it needs create/patch on namespaces, configmaps, secrets (with --include-secrets), services, deployments, poddisruptionbudgets and resourcequotas, and get/delete on services",
        HttpStatusCode.Conflict => "; another field manager owns these fields",
        HttpStatusCode.UnprocessableEntity when ImmutableFields(content) is { Count: > 0 } fields =>
            $"; {string.Join(", ", fields)} cannot change once the {kind} exists, and the render changes it: delete it (kubectl {(meta.NamespaceProperty is { } ns ? $"-n {ns} " : "")}delete {kind.ToLowerInvariant()} {meta.Name}) and apply again",
        HttpStatusCode.UnprocessableEntity => "; the cluster refused the object (an older Kubernetes than 1.30 lacks the preStop sleep action Flotilla uses)",
        _ => "",
    };

    /// <summary>
    /// The fields a 422's Status names as immutable, in the API server's words: "field is immutable" (most
    /// kinds), "may not change once set" (a Service's clusterIPs).
    /// </summary>
    internal static IReadOnlyList<string> ImmutableFields(string? content)
    {
        try
        {
            using var status = JsonDocument.Parse(content ?? "");
            if (!status.RootElement.TryGetProperty("details", out var details) || !details.TryGetProperty("causes", out var causes) || causes.ValueKind != JsonValueKind.Array)
            {
                return [];
            }
            return [.. causes.EnumerateArray()
                .Where(c => c.TryGetProperty("message", out var m) && m.GetString() is { } text
                    && (text.Contains("immutable", StringComparison.Ordinal) || text.Contains("may not change once set", StringComparison.Ordinal)))
                .Select(c => c.TryGetProperty("field", out var f) ? f.GetString() : null).OfType<string>().Distinct(StringComparer.Ordinal)];
        }
        catch (JsonException)
        {
            return [];
        }
    }
}

/// <summary>One applied object and the resourceVersion the server gave it; <paramref name="Replaced"/> says why it was deleted and created again, when it was.</summary>
public sealed record AppliedObject(string Kind, string? Namespace, string Name, string? ResourceVersion, string? Replaced = null);
