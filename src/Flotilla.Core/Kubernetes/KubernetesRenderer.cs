using System.Globalization;
using Flotilla.Model;
using k8s;
using k8s.Models;

namespace Flotilla.Kubernetes;

/// <summary>
/// Turns a spec (with its environment overlay applied) into Kubernetes objects, with no cluster and
/// no external tool: a namespace per environment with its quota, and per service a ConfigMap and a
/// Deployment per revision, a Service over all its revisions' ready pods, and a
/// PodDisruptionBudget; then Flotilla's router (a Deployment, its starting state and a Service with
/// one port per service), the stable endpoint every caller uses.
/// Pure: the same spec renders the same objects.
/// </summary>
public static class KubernetesRenderer
{
    /// <summary>The first port given to a service whose spec names none (the router needs one per service).</summary>
    public const int FirstAllocatedPort = 7000;

    public static KubernetesManifest Render(SystemSpec spec, KubernetesRenderOptions options)
    {
        var ns = KubernetesNames.Namespace(spec, options.Tenant);
        if (options.Tenant is { } tenant && !Names.IsServiceName(tenant))
        {
            throw new ArgumentException($"tenant '{tenant}' is not a tenant's name ({Names.ServiceNameHelp})");
        }
        if (ns.Length > 63)
        {
            throw new ArgumentException($"namespace '{ns}' is {ns.Length} characters; Kubernetes allows 63: shorten the {(options.Tenant is null ? "" : "tenant's, ")}system's or environment's name");
        }
        var skipped = new List<string>();
        var services = new List<ServiceSpec>();
        foreach (var service in spec.Services)
        {
            if (service.Function is not null)
            {
                skipped.Add($"function '{service.Name}': scaling from and to zero needs Flotilla's control plane; not rendered");
            }
            else if (service.Database is not null)
            {
                skipped.Add($"service '{service.Name}' declares a database, which Flotilla provisions itself; rendered without it (give it ConnectionStrings__{service.Database.Name} through a secret)");
                services.Add(service);
            }
            else
            {
                services.Add(service);
            }
        }
        var endpoints = Endpoints(services);
        var values = options.IncludeSecrets ? RenderedSecrets.Read(services) : new Dictionary<string, byte[]>();
        var objects = new List<IKubernetesObject>
        {
            new V1Namespace { ApiVersion = "v1", Kind = "Namespace", Metadata = new V1ObjectMeta { Name = ns, Labels = NamespaceLabels(spec, options.Tenant) } },
            Quota(spec, ns, services),
        };
        var renamed = values.ToDictionary(v => v.Key, v => RenderedSecrets.NameOf(v.Key, v.Value), StringComparer.Ordinal);
        objects.AddRange(values.Select(v => RenderedSecrets.Object(spec, ns, renamed[v.Key], v.Value)));
        foreach (var service in services)
        {
            objects.AddRange(ServiceObjects(spec, ns, service, endpoints, options, RenderedSecrets.DigestFor(service, values), n => renamed.GetValueOrDefault(n, n)));
        }
        objects.AddRange(RouterObjects.Render(spec, ns, endpoints, options));
        var secrets = services.SelectMany(s => s.Secrets).GroupBy(KubernetesNames.Secret, StringComparer.Ordinal).Where(g => !values.ContainsKey(g.Key))
            .Select(g => new RequiredSecret(g.Key, [ServicePods.SecretKey])).OrderBy(s => s.Name, StringComparer.Ordinal).ToList();
        return new KubernetesManifest(ns, objects, secrets, skipped);
    }

    private static Dictionary<string, string> NamespaceLabels(SystemSpec spec, string? tenant)
    {
        var labels = new Dictionary<string, string> { [KubernetesNames.SystemLabel] = spec.Name, [KubernetesNames.ManagedByLabel] = KubernetesNames.FieldManager };
        if (tenant is not null)
        {
            labels[KubernetesNames.TenantLabel] = tenant;
        }
        return labels;
    }

    /// <summary>Each service's stable port at the router: the spec's, or the next free one from <see cref="FirstAllocatedPort"/>.</summary>
    public static IReadOnlyDictionary<string, int> Endpoints(IReadOnlyList<ServiceSpec> services)
    {
        var used = services.Where(s => s.Http.Port is not null).Select(s => s.Http.Port!.Value).ToHashSet();
        var next = FirstAllocatedPort;
        var endpoints = new Dictionary<string, int>(StringComparer.Ordinal);
        foreach (var service in services)
        {
            if (service.Http.Port is { } port)
            {
                endpoints[service.Name] = port;
                continue;
            }
            while (used.Contains(next))
            {
                next++;
            }
            used.Add(next);
            endpoints[service.Name] = next;
        }
        return endpoints;
    }

    /// <summary>
    /// A prebuilt image as given; an artifact's image tagged by the artifact's content digest (the same
    /// artifact is the same image in every environment: built once, promoted unchanged); a command
    /// with no artifact runs on Flotilla's base image, as on Docker.
    /// </summary>
    public static string Image(SystemSpec spec, ServiceSpec service, KubernetesRenderOptions options)
    {
        if (service.Image is { } image)
        {
            return image;
        }
        var registry = options.Registry is { } r ? r.TrimEnd('/') + "/" : "";
        return options.DigestOf(service) is { } digest
            ? $"{registry}flotilla-{spec.Name}-{service.Name}:{digest[..Math.Min(12, digest.Length)]}"
            : registry + Runtime.Docker.ContainerImages.BaseImage;
    }

    private static IEnumerable<IKubernetesObject> ServiceObjects(SystemSpec spec, string ns, ServiceSpec service, IReadOnlyDictionary<string, int> endpoints, KubernetesRenderOptions options, string? secretValues,
        Func<string, string> secretName)
    {
        var image = Image(spec, service, options);
        var environment = ServicePods.Environment(spec, service, endpoints);
        var revision = KubernetesNames.Revision(service, image, environment, secretValues);
        var labels = KubernetesNames.Labels(spec, service.Name, revision, "service");
        var serviceLabels = KubernetesNames.Labels(spec, service.Name, null, "service");
        var selector = new Dictionary<string, string>(StringComparer.Ordinal) { [KubernetesNames.SystemLabel] = spec.Name, [KubernetesNames.ServiceLabel] = service.Name };
        yield return new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = new V1ObjectMeta { Name = KubernetesNames.ConfigMap(service.Name, revision), NamespaceProperty = ns, Labels = labels },
            Data = environment,
            // A revision's config never changes: a changed value is a new revision, rolled out like any other.
            Immutable = true,
        };
        yield return new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = new V1ObjectMeta { Name = KubernetesNames.Deployment(service.Name, revision), NamespaceProperty = ns, Labels = labels },
            Spec = new V1DeploymentSpec
            {
                Replicas = service.Instances,
                Selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string>(selector) { [KubernetesNames.RevisionLabel] = revision } },
                // One Deployment per revision: releases move replicas between revisions, so a
                // Deployment's own rolling update only replaces pods that died.
                Strategy = new V1DeploymentStrategy { Type = "RollingUpdate", RollingUpdate = new V1RollingUpdateDeployment { MaxSurge = "1", MaxUnavailable = "0" } },
                MinReadySeconds = 0,
                RevisionHistoryLimit = 1,
                Template = ServicePods.Template(spec, service, revision, labels, image, secretName),
            },
        };
        yield return new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = new V1ObjectMeta { Name = service.Name, NamespaceProperty = ns, Labels = serviceLabels },
            Spec = new V1ServiceSpec
            {
                // Every ready pod of every revision, balanced by kube-proxy: the rendered router sends here, so a
                // new revision's pods take traffic as they become ready and the old ones' until they are gone.
                Selector = selector,
                Ports = [new V1ServicePort { Name = "http", Port = KubernetesNames.ContainerPort, TargetPort = "http", Protocol = "TCP" }],
            },
        };
        yield return new V1PodDisruptionBudget
        {
            ApiVersion = "policy/v1",
            Kind = "PodDisruptionBudget",
            Metadata = new V1ObjectMeta { Name = service.Name, NamespaceProperty = ns, Labels = serviceLabels },
            Spec = new V1PodDisruptionBudgetSpec
            {
                // A drain takes one instance at a time; a single-instance service may still be drained (or a node could never be).
                MaxUnavailable = "1",
                Selector = new V1LabelSelector { MatchLabels = selector },
                UnhealthyPodEvictionPolicy = "AlwaysAllow",
            },
        };
    }

    /// <summary>
    /// The namespace's quota: room for every service twice over (a release surges a whole new
    /// revision beside the old before it scales the old down) plus the router.
    /// </summary>
    private static V1ResourceQuota Quota(SystemSpec spec, string ns, IReadOnlyList<ServiceSpec> services)
    {
        var pods = 2 * services.Sum(s => s.Instances) + 2 * RouterObjects.Replicas;
        var hard = new Dictionary<string, ResourceQuantity>(StringComparer.Ordinal) { ["pods"] = new(pods.ToString(CultureInfo.InvariantCulture)) };
        var cpu = 2 * services.Sum(s => (s.Resources?.Cpu ?? 0) * s.Instances) + 2 * RouterObjects.Replicas * RouterObjects.Cpu;
        var memory = 2 * services.Sum(s => (s.Resources?.MemoryBytes ?? 0) * s.Instances) + 2 * RouterObjects.Replicas * RouterObjects.MemoryBytes;
        // Limits only when every service declares them: a quota on limits refuses pods without any.
        if (services.All(s => s.Resources?.Cpu is not null))
        {
            hard["limits.cpu"] = ServicePods.Cpu(cpu);
        }
        if (services.All(s => s.Resources?.MemoryBytes is not null))
        {
            hard["limits.memory"] = ServicePods.Memory(memory);
        }
        return new V1ResourceQuota
        {
            ApiVersion = "v1",
            Kind = "ResourceQuota",
            Metadata = new V1ObjectMeta { Name = spec.Name, NamespaceProperty = ns, Labels = new Dictionary<string, string> { [KubernetesNames.SystemLabel] = spec.Name, [KubernetesNames.ManagedByLabel] = KubernetesNames.FieldManager } },
            Spec = new V1ResourceQuotaSpec { Hard = hard },
        };
    }
}
