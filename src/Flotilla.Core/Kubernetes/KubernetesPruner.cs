using System.Net;
using k8s;
using k8s.Autorest;
using k8s.Models;
using Flotilla.Runtime.Kubernetes;

namespace Flotilla.Kubernetes;

/// <summary>
/// What an apply leaves behind, and taking it away. A new revision is a new Deployment beside the old
/// one (both behind the service's Service), so after an apply the old revision still runs: that is
/// what keeps the release without a gap. Once every rendered Deployment is available, the system's
/// objects in its namespace that the render no longer has (earlier revisions' Deployments and
/// ConfigMaps, Secrets it rendered; the Service and budget of a removed service) can go, as <c>kubectl apply --prune</c>
/// and Argo CD's prune do. Only objects labelled as this system's and managed by Flotilla are ever
/// listed, so nothing a person made by hand in the namespace is touched. (Old revisions that a newer
/// available one has replaced go before the wait: <see cref="EarlyPrunePlanner"/>.)
/// </summary>
public sealed class KubernetesPruner(IKubernetes client)
{
    private static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);

    /// <summary>
    /// Waits until every Deployment of the manifest is rolled out as <c>kubectl rollout status</c> judges it: its
    /// controller has seen the latest generation, and as many pods as it asks for are available, all of the new
    /// template, with no old one left. Returns the ones that are not, each with why ("orders-1a2b: 1 of 3
    /// available, 3 updated, 1 old still running"), after <paramref name="timeout"/>; empty when all are.
    /// </summary>
    public async Task<IReadOnlyList<string>> WaitAvailableAsync(KubernetesManifest manifest, TimeSpan timeout, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            var waiting = new List<string>();
            foreach (var wanted in manifest.Objects.OfType<V1Deployment>())
            {
                var found = await Call($"reading deployment {wanted.Metadata.Name}", () =>
                    client.AppsV1.ReadNamespacedDeploymentAsync(wanted.Metadata.Name, manifest.Namespace, cancellationToken: cancellationToken));
                if (RolloutStatus.NotRolledOut(found) is { } why)
                {
                    waiting.Add($"{wanted.Metadata.Name}: {why}");
                }
            }
            if (waiting.Count == 0 || DateTime.UtcNow >= deadline)
            {
                return waiting;
            }
            await Task.Delay(Poll, cancellationToken);
        }
    }

    /// <summary>Every Deployment of the system in the manifest's namespace (the rendered ones and those of earlier revisions), with its status.</summary>
    public async Task<IReadOnlyList<V1Deployment>> DeploymentsAsync(KubernetesManifest manifest, CancellationToken cancellationToken)
    {
        var list = await Call("listing deployments", () =>
            client.AppsV1.ListNamespacedDeploymentAsync(manifest.Namespace, labelSelector: Selector(manifest), cancellationToken: cancellationToken));
        return list.Items.ToList();
    }

    private static string Selector(KubernetesManifest manifest) =>
        $"{KubernetesNames.SystemLabel}={manifest.Objects.OfType<V1Namespace>().Single().Metadata.Labels[KubernetesNames.SystemLabel]},{KubernetesNames.ManagedByLabel}={KubernetesNames.FieldManager}";

    /// <summary>The system's objects in the manifest's namespace that the manifest does not have, in the order to delete them.</summary>
    public async Task<IReadOnlyList<StaleObject>> StaleAsync(KubernetesManifest manifest, CancellationToken cancellationToken)
    {
        var selector = Selector(manifest);
        var ns = manifest.Namespace;
        bool Rendered<T>(string name) where T : IKubernetesObject<V1ObjectMeta> => manifest.Objects.OfType<T>().Any(o => o.Metadata.Name == name);
        var stale = new List<StaleObject>();
        // Workloads first: a Deployment goes before the ConfigMap its pods read.
        var deployments = await Call("listing deployments", () => client.AppsV1.ListNamespacedDeploymentAsync(ns, labelSelector: selector, cancellationToken: cancellationToken));
        stale.AddRange(deployments.Items.Where(d => !Rendered<V1Deployment>(d.Metadata.Name)).Select(d => new StaleObject("Deployment", ns, d.Metadata.Name)));
        var configMaps = await Call("listing configmaps", () => client.CoreV1.ListNamespacedConfigMapAsync(ns, labelSelector: selector, cancellationToken: cancellationToken));
        stale.AddRange(configMaps.Items.Where(c => !Rendered<V1ConfigMap>(c.Metadata.Name)).Select(c => new StaleObject("ConfigMap", ns, c.Metadata.Name)));
        var secrets = await Call("listing secrets", () => client.CoreV1.ListNamespacedSecretAsync(ns, labelSelector: selector, cancellationToken: cancellationToken));
        // Never a Secret the new pods read: one rendered now, or one they reference that the cluster must hold (an earlier
        // --include-secrets apply may have made it; this one without the flag still reads it).
        stale.AddRange(secrets.Items.Where(c => !Rendered<V1Secret>(c.Metadata.Name) && manifest.RequiredSecrets.All(r => r.Name != c.Metadata.Name))
            .Select(c => new StaleObject("Secret", ns, c.Metadata.Name)));
        var services = await Call("listing services", () => client.CoreV1.ListNamespacedServiceAsync(ns, labelSelector: selector, cancellationToken: cancellationToken));
        stale.AddRange(services.Items.Where(s => !Rendered<V1Service>(s.Metadata.Name)).Select(s => new StaleObject("Service", ns, s.Metadata.Name)));
        var budgets = await Call("listing poddisruptionbudgets", () => client.PolicyV1.ListNamespacedPodDisruptionBudgetAsync(ns, labelSelector: selector, cancellationToken: cancellationToken));
        stale.AddRange(budgets.Items.Where(b => !Rendered<V1PodDisruptionBudget>(b.Metadata.Name)).Select(b => new StaleObject("PodDisruptionBudget", ns, b.Metadata.Name)));
        return stale;
    }

    /// <summary>Deletes one stale object (its pods in the background, each with its preStop and grace period); one already gone is fine.</summary>
    public async Task DeleteAsync(StaleObject item, CancellationToken cancellationToken)
    {
        var options = new V1DeleteOptions { PropagationPolicy = "Background" };
        try
        {
            await Call<object>($"deleting {item.Kind.ToLowerInvariant()} {item.Name}", async () => item.Kind switch
            {
                "Deployment" => await client.AppsV1.DeleteNamespacedDeploymentAsync(item.Name, item.Namespace, options, cancellationToken: cancellationToken),
                "ConfigMap" => await client.CoreV1.DeleteNamespacedConfigMapAsync(item.Name, item.Namespace, options, cancellationToken: cancellationToken),
                "Secret" => await client.CoreV1.DeleteNamespacedSecretAsync(item.Name, item.Namespace, options, cancellationToken: cancellationToken),
                "Service" => await client.CoreV1.DeleteNamespacedServiceAsync(item.Name, item.Namespace, options, cancellationToken: cancellationToken),
                "PodDisruptionBudget" => await client.PolicyV1.DeleteNamespacedPodDisruptionBudgetAsync(item.Name, item.Namespace, options, cancellationToken: cancellationToken),
                _ => throw new InvalidOperationException($"no delete for {item.Kind}"),
            });
        }
        catch (KubernetesApplyException e) when (e.InnerException is HttpOperationException { Response.StatusCode: HttpStatusCode.NotFound })
        {
        }
    }

    private async Task<T> Call<T>(string what, Func<Task<T>> call)
    {
        try
        {
            return await call();
        }
        catch (HttpOperationException e)
        {
            var fix = e.Response.StatusCode == HttpStatusCode.Forbidden
                ? "; the context's user needs get/list/delete on deployments, configmaps, secrets, services and poddisruptionbudgets there"
                : "";
            throw new KubernetesApplyException($"{what}: the API server answered {(int)e.Response.StatusCode} {e.Response.StatusCode}: {KubernetesApplier.Reason(e.Response.Content)}{fix}", e);
        }
        catch (HttpRequestException e)
        {
            throw new KubernetesApplyException($"{what}: the API server at {client.BaseUri} cannot be reached ({e.Message})", e);
        }
    }
}

/// <summary>An object of the system that the latest render no longer has.</summary>
public sealed record StaleObject(string Kind, string Namespace, string Name);
