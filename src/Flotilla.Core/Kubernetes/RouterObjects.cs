using System.Globalization;
using Flotilla.Model;
using k8s;
using k8s.Models;

namespace Flotilla.Kubernetes;

/// <summary>
/// Flotilla's router in the cluster: a Deployment of two replicas (one lost keeps the endpoints up)
/// and a ClusterIP Service with one port per service, the stable endpoint callers are given. No
/// control plane runs in the cluster to feed it, so it starts from a state rendered beside it (a
/// ConfigMap, <c>flotilla router --state</c>): each service's endpoint sends to that service's
/// ClusterIP Service, which kube-proxy balances over every ready pod of every revision. A changed
/// state rolls the router's pods (the state's digest is in their template).
/// </summary>
internal static class RouterObjects
{
    public const int Replicas = 2;
    public const double Cpu = 0.5;
    public const long MemoryBytes = 256L << 20;
    public const int AdminPort = 7079;
    public const int MetricsPort = 9090;
    public const string AdminSecret = "flotilla-router-admin";
    public const string StateDirectory = "/etc/flotilla-router";
    public const string WorkingDirectory = "/var/lib/flotilla-router";
    public const string StateDigestAnnotation = "flotilla.io/router-state";

    // Indented, without the parts only a running router has: the ConfigMap is read by people too.
    private static readonly System.Text.Json.JsonSerializerOptions Readable = new(Router.Remote.RouterAdmin.Json)
    {
        WriteIndented = true,
        DefaultIgnoreCondition = System.Text.Json.Serialization.JsonIgnoreCondition.WhenWritingNull,
    };

    /// <summary>What the router serves from its first request: each service's endpoint, sent to its ClusterIP Service.</summary>
    public static Router.Remote.RouterState State(IReadOnlyDictionary<string, int> endpoints) => new(
        endpoints.OrderBy(e => e.Key, StringComparer.Ordinal).ToDictionary(e => e.Key, e => e.Value, StringComparer.Ordinal),
        // The short name resolves in the pod's own namespace (the DNS search path), so a chart installed elsewhere still works.
        new Router.RoutingTable(endpoints.Keys.Order(StringComparer.Ordinal).ToDictionary(
            s => s, s => (IReadOnlyList<Router.RouteDestination>)[new Router.RouteDestination(s, KubernetesNames.ContainerPort, "", s)], StringComparer.Ordinal)),
        Pid: 0);

    public static IEnumerable<IKubernetesObject> Render(SystemSpec spec, string ns, IReadOnlyDictionary<string, int> endpoints, KubernetesRenderOptions options)
    {
        var labels = KubernetesNames.Labels(spec, KubernetesNames.RouterName, null, "router");
        var selector = new Dictionary<string, string>(StringComparer.Ordinal) { [KubernetesNames.SystemLabel] = spec.Name, [KubernetesNames.ServiceLabel] = KubernetesNames.RouterName };
        var ports = endpoints.OrderBy(e => e.Value).Select(e => (Name: PortName(e.Key), Port: e.Value)).ToList();
        var state = System.Text.Json.JsonSerializer.Serialize(State(endpoints), Readable) + "\n";
        var digest = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(state)))[..12];
        yield return new V1ConfigMap
        {
            ApiVersion = "v1",
            Kind = "ConfigMap",
            Metadata = new V1ObjectMeta { Name = KubernetesNames.RouterName, NamespaceProperty = ns, Labels = labels },
            Data = new Dictionary<string, string>(StringComparer.Ordinal) { [Router.Remote.RouterStateFile.FileName] = state },
        };
        yield return new V1Deployment
        {
            ApiVersion = "apps/v1",
            Kind = "Deployment",
            Metadata = new V1ObjectMeta { Name = KubernetesNames.RouterName, NamespaceProperty = ns, Labels = labels },
            Spec = new V1DeploymentSpec
            {
                Replicas = Replicas,
                Selector = new V1LabelSelector { MatchLabels = selector },
                Strategy = new V1DeploymentStrategy { Type = "RollingUpdate", RollingUpdate = new V1RollingUpdateDeployment { MaxSurge = "1", MaxUnavailable = "0" } },
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = labels, Annotations = new Dictionary<string, string>(StringComparer.Ordinal) { [StateDigestAnnotation] = digest } },
                    Spec = new V1PodSpec
                    {
                        EnableServiceLinks = false,
                        Volumes =
                        [
                            new V1Volume { Name = "state", ConfigMap = new V1ConfigMapVolumeSource { Name = KubernetesNames.RouterName } },
                            // The router writes its state and log where it runs; the ConfigMap is read-only.
                            new V1Volume { Name = "work", EmptyDir = new V1EmptyDirVolumeSource() },
                        ],
                        TopologySpreadConstraints = [new V1TopologySpreadConstraint { MaxSkew = 1, TopologyKey = "kubernetes.io/hostname", WhenUnsatisfiable = "ScheduleAnyway", LabelSelector = new V1LabelSelector { MatchLabels = selector } }],
                        Containers =
                        [
                            new V1Container
                            {
                                Name = "router",
                                Image = options.RouterImage,
                                Command = ["flotilla", "router", "--admin-port", AdminPort.ToString(CultureInfo.InvariantCulture), "--metrics", $"0.0.0.0:{MetricsPort.ToString(CultureInfo.InvariantCulture)}",
                                    "--bind", "0.0.0.0", "--state", $"{StateDirectory}/{Router.Remote.RouterStateFile.FileName}"],
                                WorkingDir = WorkingDirectory,
                                VolumeMounts =
                                [
                                    new V1VolumeMount { Name = "state", MountPath = StateDirectory, ReadOnlyProperty = true },
                                    new V1VolumeMount { Name = "work", MountPath = WorkingDirectory },
                                ],
                                Env = [new V1EnvVar { Name = Router.Remote.RouterAdmin.SecretVariable, ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = AdminSecret, Key = ServicePods.SecretKey } } }],
                                Ports = ports.Select(p => new V1ContainerPort { Name = p.Name, ContainerPort = p.Port, Protocol = "TCP" })
                                    .Append(new V1ContainerPort { Name = "metrics", ContainerPort = MetricsPort, Protocol = "TCP" }).ToList(),
                                Resources = new V1ResourceRequirements
                                {
                                    Requests = new Dictionary<string, ResourceQuantity> { ["cpu"] = ServicePods.Cpu(Cpu), ["memory"] = ServicePods.Memory(MemoryBytes) },
                                    Limits = new Dictionary<string, ResourceQuantity> { ["cpu"] = ServicePods.Cpu(Cpu), ["memory"] = ServicePods.Memory(MemoryBytes) },
                                },
                                ReadinessProbe = new V1Probe { TcpSocket = new V1TCPSocketAction { Port = "metrics" }, PeriodSeconds = 1 },
                                LivenessProbe = new V1Probe { HttpGet = new V1HTTPGetAction { Path = "/metrics", Port = "metrics" }, PeriodSeconds = 5, FailureThreshold = 3 },
                            },
                        ],
                    },
                },
            },
        };
        yield return new V1Service
        {
            ApiVersion = "v1",
            Kind = "Service",
            Metadata = new V1ObjectMeta { Name = KubernetesNames.RouterName, NamespaceProperty = ns, Labels = labels },
            Spec = new V1ServiceSpec
            {
                Type = "ClusterIP",
                Selector = selector,
                Ports = ports.Select(p => new V1ServicePort { Name = p.Name, Port = p.Port, TargetPort = p.Name, Protocol = "TCP" }).ToList(),
            },
        };
        yield return new V1PodDisruptionBudget
        {
            ApiVersion = "policy/v1",
            Kind = "PodDisruptionBudget",
            Metadata = new V1ObjectMeta { Name = KubernetesNames.RouterName, NamespaceProperty = ns, Labels = labels },
            Spec = new V1PodDisruptionBudgetSpec { MinAvailable = "1", Selector = new V1LabelSelector { MatchLabels = selector } },
        };
    }

    /// <summary>A container port's name: at most 15 characters, lower case, starting with a letter.</summary>
    public static string PortName(string service)
    {
        var name = KubernetesNames.Dns(service);
        name = name[..Math.Min(15, name.Length)].TrimEnd('-');
        return char.IsAsciiLetter(name[0]) ? name : "s" + name[..Math.Min(14, name.Length)];
    }
}
