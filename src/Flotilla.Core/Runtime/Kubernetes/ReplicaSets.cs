using System.Globalization;
using k8s.Models;

namespace Flotilla.Runtime.Kubernetes;

/// <summary>
/// The ReplicaSet of one revision, built from the launch the controllers made (the driver sees
/// launches, not the spec): the same pod conventions as <c>flotilla render --target kubernetes</c>
/// (port named http, requests equal to limits, a readiness probe on the ready path, a preStop sleep
/// so the router stops sending before SIGTERM, a soft spread over nodes and zones), labelled with
/// the control plane that owns it so a restarted one finds it again. A ReplicaSet, not a
/// Deployment: Flotilla moves replicas between revisions itself, and a Deployment would roll its own.
/// </summary>
internal static class ReplicaSets
{
    public const string FieldManager = "flotilla";
    public const string OwnerLabel = "flotilla.io/owner";
    public const string ServiceLabel = "flotilla.io/service";
    public const string RevisionLabel = "flotilla.io/revision";
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";
    public const string ReadyPathAnnotation = "flotilla.io/ready-path";

    /// <summary>The ReplicaSet controller removes pods of lower cost first (after unscheduled, pending and unready ones).</summary>
    public const string DeletionCostAnnotation = "controller.kubernetes.io/pod-deletion-cost";

    /// <summary>The lowest cost there is: the pod Flotilla drained is the one the next scale-down removes.</summary>
    public const string DrainedCost = "-2147483648";

    /// <summary>How long a pod keeps serving after Kubernetes decides to stop it, for the router to see it go (as on Swarm and in the render).</summary>
    public const int StopDelaySeconds = 2;

    private const int StopGraceSeconds = 10;

    public static string Name(string owner, string service, string revision)
    {
        var name = Dns($"flotilla-{owner}-{service}-{revision[..Math.Min(12, revision.Length)]}");
        // The pods' names add a '-' and 5 characters; a name must stay within 63. Cut short, it ends with a
        // hash of service and revision, so a long service name cannot give two revisions (or two services
        // sharing a long prefix) one ReplicaSet.
        if (name.Length <= 57)
        {
            return name;
        }
        var hash = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes($"{service}/{revision}")))[..10];
        return $"{name[..46].TrimEnd('-')}-{hash}";
    }

    public static string Selector(string owner) => $"{OwnerLabel}={owner}";

    public static V1ReplicaSet Build(string owner, string ns, InstanceLaunch launch, int replicas, int containerPort)
    {
        var port = containerPort.ToString(CultureInfo.InvariantCulture);
        var env = launch.Env.ToDictionary(StringComparer.Ordinal);
        env.Remove("FLOTILLA_ZONE");
        env.Remove("ARTIFACT");
        env["PORT"] = port;
        env["ASPNETCORE_URLS"] = $"http://0.0.0.0:{port}";
        // Kubernetes' own $(VAR): the kubelet puts the pod's name there.
        env["FLOTILLA_INSTANCE"] = "$(FLOTILLA_INSTANCE)";
        var command = CommandLine.Expand(launch.Command, env).ToList();
        env.Remove("FLOTILLA_INSTANCE");
        var labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            [OwnerLabel] = owner,
            [ServiceLabel] = launch.Service,
            [RevisionLabel] = launch.Revision,
        };
        var ready = launch.Http.Ready ?? launch.Http.Health;
        var container = new V1Container
        {
            Name = Dns(launch.Service),
            Image = launch.Image,
            Command = command.Count == 0 ? null : command,
            Ports = [new V1ContainerPort { Name = "http", ContainerPort = containerPort, Protocol = "TCP" }],
            Env = [
                new V1EnvVar { Name = "FLOTILLA_INSTANCE", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
                .. env.OrderBy(e => e.Key, StringComparer.Ordinal).Select(e => new V1EnvVar { Name = e.Key, Value = e.Value }),
            ],
            Resources = Resources(launch.Resources),
            ReadinessProbe = new V1Probe
            {
                HttpGet = ready is null ? null : new V1HTTPGetAction { Path = ready, Port = "http" },
                TcpSocket = ready is null ? new V1TCPSocketAction { Port = "http" } : null,
                PeriodSeconds = 1,
                FailureThreshold = 3,
                TimeoutSeconds = 1,
            },
            Lifecycle = new V1Lifecycle { PreStop = new V1LifecycleHandler { Sleep = new V1SleepAction { Seconds = StopDelaySeconds } } },
        };
        var selector = new V1LabelSelector { MatchLabels = new Dictionary<string, string>(labels, StringComparer.Ordinal) };
        var podSpec = new V1PodSpec
        {
            Containers = [container],
            TerminationGracePeriodSeconds = StopDelaySeconds + StopGraceSeconds,
            EnableServiceLinks = false,
            TopologySpreadConstraints =
            [
                new V1TopologySpreadConstraint { MaxSkew = 1, TopologyKey = "topology.kubernetes.io/zone", WhenUnsatisfiable = "ScheduleAnyway", LabelSelector = selector },
                new V1TopologySpreadConstraint { MaxSkew = 1, TopologyKey = "kubernetes.io/hostname", WhenUnsatisfiable = "ScheduleAnyway", LabelSelector = selector },
            ],
        };
        PodSecrets.Refer(podSpec, container, Name(owner, launch.Service, launch.Revision), launch.Secrets ?? []);
        return new V1ReplicaSet
        {
            ApiVersion = "apps/v1",
            Kind = "ReplicaSet",
            Metadata = new V1ObjectMeta
            {
                Name = Name(owner, launch.Service, launch.Revision),
                NamespaceProperty = ns,
                Labels = new Dictionary<string, string>(labels, StringComparer.Ordinal) { [ManagedByLabel] = FieldManager },
                Annotations = new Dictionary<string, string>(StringComparer.Ordinal) { [ReadyPathAnnotation] = launch.Http.Ready ?? "" },
            },
            Spec = new V1ReplicaSetSpec
            {
                Replicas = replicas,
                Selector = selector,
                Template = new V1PodTemplateSpec
                {
                    Metadata = new V1ObjectMeta { Labels = new Dictionary<string, string>(labels, StringComparer.Ordinal) },
                    Spec = podSpec,
                },
            },
        };
    }

    /// <summary>Requests equal to limits (the Guaranteed class), as rendered.</summary>
    private static V1ResourceRequirements? Resources(Model.ResourcesSpec? resources)
    {
        if (resources is null)
        {
            return null;
        }
        var amounts = new Dictionary<string, ResourceQuantity>(StringComparer.Ordinal);
        if (resources.Cpu is { } cpu)
        {
            amounts["cpu"] = new ResourceQuantity($"{Math.Round(cpu * 1000).ToString(CultureInfo.InvariantCulture)}m");
        }
        if (resources.MemoryBytes is { } memory)
        {
            amounts["memory"] = new ResourceQuantity(memory.ToString(CultureInfo.InvariantCulture));
        }
        return amounts.Count == 0 ? null : new V1ResourceRequirements { Requests = amounts, Limits = new Dictionary<string, ResourceQuantity>(amounts, StringComparer.Ordinal) };
    }

    /// <summary>A name made fit for a DNS label (lower case, digits, '-').</summary>
    public static string Dns(string name)
    {
        var text = new string(name.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray()).Trim('-');
        return text.Length == 0 ? "x" : text[..Math.Min(63, text.Length)];
    }
}
