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
/// left in place (a release moves replicas between revisions; nothing is pruned here).
/// </summary>
public sealed class KubernetesApplier(IKubernetes client)
{
    public const string FieldManager = KubernetesNames.FieldManager;

    /// <summary>The objects in order, each with what the server answered; stops at the first refusal, naming the object.</summary>
    public async Task<IReadOnlyList<AppliedObject>> ApplyAsync(KubernetesManifest manifest, CancellationToken cancellationToken)
    {
        var applied = new List<AppliedObject>();
        foreach (var item in manifest.Objects)
        {
            var meta = ((IKubernetesObject<V1ObjectMeta>)item).Metadata;
            var what = $"{item.Kind} {(meta.NamespaceProperty is { } ns ? ns + "/" : "")}{meta.Name}";
            try
            {
                var answer = await ApplyOneAsync(item, meta.Name, meta.NamespaceProperty, cancellationToken);
                applied.Add(new AppliedObject(item.Kind, meta.NamespaceProperty, meta.Name, answer.Metadata.ResourceVersion));
            }
            catch (HttpOperationException e)
            {
                throw new KubernetesApplyException($"applying {what}: the API server answered {(int)e.Response.StatusCode} {e.Response.StatusCode}: {Reason(e.Response.Content)}{Fix(e.Response.StatusCode)}", e);
            }
            catch (HttpRequestException e)
            {
                throw new KubernetesApplyException($"applying {what}: the API server at {client.BaseUri} cannot be reached ({e.Message}); check the context's server and that the cluster is up, then apply again (what was applied stays, applying is idempotent)", e);
            }
        }
        return applied;
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

    private static string Fix(HttpStatusCode status) => status switch
    {
        HttpStatusCode.Unauthorized => "; the context's credentials were refused: log in again (kubectl auth whoami shows who you are)",
        HttpStatusCode.Forbidden => "; the context's user may not do this: it needs create/patch on namespaces, configmaps, secrets (with --include-secrets), services, deployments, poddisruptionbudgets and resourcequotas",
        HttpStatusCode.Conflict => "; another field manager owns these fields",
        HttpStatusCode.UnprocessableEntity => "; the cluster refused the object (an older Kubernetes than 1.30 lacks the preStop sleep action Flotilla uses)",
        _ => "",
    };
}

/// <summary>One applied object and the resourceVersion the server gave it.</summary>
public sealed record AppliedObject(string Kind, string? Namespace, string Name, string? ResourceVersion);
