using System.Globalization;
using System.Text.RegularExpressions;
using Flotilla.Model;
using k8s.Models;

namespace Flotilla.Kubernetes;

/// <summary>
/// The pod of one service revision: image, command, environment (plain values from its ConfigMap,
/// secrets by reference), resources, probes from the spec's http paths, spread over zones, and the
/// stop sequence that lets the router take a pod out of rotation before its program is stopped.
/// </summary>
internal static partial class ServicePods
{
    public const string SecretKey = "value";
    public const string ArtifactPath = "/artifact";
    private const string SecretMountRoot = "/run/secrets/flotilla";

    /// <summary>
    /// How long a pod keeps serving after Kubernetes decides to stop it: Kubernetes removes it from
    /// endpoints at the same moment it sends SIGTERM (kubernetes#43576), so the preStop sleep is the
    /// router's time to see the pod leave and stop sending to it. The same delay as on Swarm.
    /// </summary>
    public const int StopDelaySeconds = 2;

    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex Variable();

    /// <param name="secretName">The name of the Secret a reference resolves to (a rendered Secret's carries its value's digest).</param>
    public static V1PodTemplateSpec Template(SystemSpec spec, ServiceSpec service, string revision, IReadOnlyDictionary<string, string> labels, string? image,
        Func<string, string>? secretName = null)
    {
        var configMap = KubernetesNames.ConfigMap(service.Name, revision);
        var env = new List<V1EnvVar>
        {
            new() { Name = "FLOTILLA_INSTANCE", ValueFrom = new V1EnvVarSource { FieldRef = new V1ObjectFieldSelector { FieldPath = "metadata.name" } } },
        };
        var mounts = new List<V1VolumeMount>();
        var volumes = new List<V1Volume>();
        foreach (var secret in service.Secrets)
        {
            var name = (secretName ?? (n => n))(KubernetesNames.Secret(secret));
            if (secret.AsFile)
            {
                var volume = $"secret-{KubernetesNames.Dns(secret.Variable)}";
                volumes.Add(new V1Volume { Name = volume, Secret = new V1SecretVolumeSource { SecretName = name, DefaultMode = 0400 } });
                mounts.Add(new V1VolumeMount { Name = volume, MountPath = $"{SecretMountRoot}/{secret.Variable}", ReadOnlyProperty = true });
                env.Add(new V1EnvVar { Name = secret.Variable, Value = $"{SecretMountRoot}/{secret.Variable}/{SecretKey}" });
            }
            else
            {
                env.Add(new V1EnvVar { Name = secret.Variable, ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = name, Key = SecretKey } } });
            }
        }
        var container = new V1Container
        {
            Name = service.Name,
            Image = image,
            Command = Command(service),
            Ports = [new V1ContainerPort { Name = "http", ContainerPort = KubernetesNames.ContainerPort, Protocol = "TCP" }],
            EnvFrom = [new V1EnvFromSource { ConfigMapRef = new V1ConfigMapEnvSource { Name = configMap } }],
            Env = env,
            Resources = Resources(service.Resources),
            ReadinessProbe = Probe(service.Http.Ready ?? service.Http.Health, periodSeconds: 1, failureThreshold: 3),
            LivenessProbe = Probe(service.Http.Health, periodSeconds: 5, failureThreshold: 3, initialDelaySeconds: (int)Math.Ceiling(service.Timeouts.Start.TotalSeconds)),
            Lifecycle = new V1Lifecycle { PreStop = new V1LifecycleHandler { Sleep = new V1SleepAction { Seconds = StopDelaySeconds } } },
            VolumeMounts = mounts.Count == 0 ? null : mounts,
        };
        return new V1PodTemplateSpec
        {
            Metadata = new V1ObjectMeta { Labels = labels.ToDictionary() },
            Spec = new V1PodSpec
            {
                Containers = [container],
                Volumes = volumes.Count == 0 ? null : volumes,
                TerminationGracePeriodSeconds = StopDelaySeconds + (long)Math.Ceiling(service.Timeouts.Stop.TotalSeconds),
                TopologySpreadConstraints = Spread(spec, service, labels),
                Affinity = spec.ZoneNames.Count == 0 ? null : new V1Affinity
                {
                    // Only the declared zones: the spec's zones are the failure domains this system may use.
                    NodeAffinity = new V1NodeAffinity
                    {
                        RequiredDuringSchedulingIgnoredDuringExecution = new V1NodeSelector
                        {
                            NodeSelectorTerms = [new V1NodeSelectorTerm { MatchExpressions = [new V1NodeSelectorRequirement { Key = KubernetesNames.ZoneTopologyKey, OperatorProperty = "In", Values = spec.ZoneNames.ToList() }] }],
                        },
                    },
                },
                EnableServiceLinks = false,
            },
        };
    }

    /// <summary>The variables a revision's instances get in plain text: the spec's env and Flotilla's contract, with endpoints at the router.</summary>
    public static SortedDictionary<string, string> Environment(SystemSpec spec, ServiceSpec service, IReadOnlyDictionary<string, int> endpoints)
    {
        var env = new SortedDictionary<string, string>(service.Env.ToDictionary(), StringComparer.Ordinal);
        // The short name resolves in the pod's own namespace, so a chart installed in another one still calls its own router.
        var router = KubernetesNames.RouterName;
        foreach (var name in Hosting.ServiceEnvironment.Reached(service))
        {
            if (endpoints.TryGetValue(name, out var port))
            {
                var url = $"http://{router}:{port.ToString(CultureInfo.InvariantCulture)}";
                env[$"services__{name}__http__0"] = url;
                env[Names.UrlVariable(name)] = url;
            }
        }
        env["FLOTILLA_CONTRACT"] = Hosting.ServiceEnvironment.ContractVersion;
        env["FLOTILLA_SYSTEM"] = spec.Name;
        env["FLOTILLA_SERVICE"] = service.Name;
        if (spec.Environment is { } environment)
        {
            env["FLOTILLA_ENVIRONMENT"] = environment;
        }
        if (service.Build is not null || service.Files is not null)
        {
            env["ARTIFACT"] = ArtifactPath;
        }
        if (service.Build is not null)
        {
            env["ASPNETCORE_CONTENTROOT"] = ArtifactPath;
        }
        env["PORT"] = KubernetesNames.ContainerPort.ToString(CultureInfo.InvariantCulture);
        env["ASPNETCORE_URLS"] = $"http://0.0.0.0:{KubernetesNames.ContainerPort.ToString(CultureInfo.InvariantCulture)}";
        return env;
    }

    /// <summary>
    /// The program: the spec's command with <c>${VAR}</c> turned into Kubernetes' <c>$(VAR)</c>, which
    /// the kubelet expands from the container's environment; a .NET build runs its published dll.
    /// A prebuilt image without a command runs its own entrypoint.
    /// </summary>
    private static List<string>? Command(ServiceSpec service)
    {
        if (service.Command is { } command)
        {
            return command.Select(a => Variable().Replace(a, "$($1)")).ToList();
        }
        if (service.Build is { } build)
        {
            var project = Path.GetFileNameWithoutExtension(Path.TrimEndingDirectorySeparator(build));
            return ["dotnet", $"{ArtifactPath}/{project}.dll"];
        }
        return null;
    }

    /// <summary>Requests equal to limits (the Guaranteed class): what the spec declares is what the pod is promised and held to.</summary>
    private static V1ResourceRequirements? Resources(ResourcesSpec? resources)
    {
        if (resources is null)
        {
            return null;
        }
        var amounts = new Dictionary<string, ResourceQuantity>(StringComparer.Ordinal);
        if (resources.Cpu is { } cpu)
        {
            amounts["cpu"] = Cpu(cpu);
        }
        if (resources.MemoryBytes is { } memory)
        {
            amounts["memory"] = Memory(memory);
        }
        return new V1ResourceRequirements { Requests = amounts, Limits = new Dictionary<string, ResourceQuantity>(amounts, StringComparer.Ordinal) };
    }

    public static ResourceQuantity Cpu(double cores) =>
        new($"{Math.Round(cores * 1000).ToString(CultureInfo.InvariantCulture)}m");

    /// <summary>Memory in the largest binary unit that divides it exactly (256Mi, not 268435456).</summary>
    public static ResourceQuantity Memory(long bytes)
    {
        foreach (var (unit, size) in new[] { ("Gi", 1L << 30), ("Mi", 1L << 20), ("Ki", 1L << 10) })
        {
            if (bytes % size == 0)
            {
                return new ResourceQuantity($"{(bytes / size).ToString(CultureInfo.InvariantCulture)}{unit}");
            }
        }
        return new ResourceQuantity(bytes.ToString(CultureInfo.InvariantCulture));
    }

    /// <summary>An HTTP GET of the path on the instance's port; without a path, a TCP connect (as the local runtime does).</summary>
    private static V1Probe Probe(string? path, int periodSeconds, int failureThreshold, int initialDelaySeconds = 0) => new()
    {
        HttpGet = path is null ? null : new V1HTTPGetAction { Path = path, Port = "http" },
        TcpSocket = path is null ? new V1TCPSocketAction { Port = "http" } : null,
        PeriodSeconds = periodSeconds,
        FailureThreshold = failureThreshold,
        InitialDelaySeconds = initialDelaySeconds == 0 ? null : initialDelaySeconds,
        TimeoutSeconds = 1,
    };

    /// <summary>
    /// Zones declared: a hard spread of each revision over them (skew 1), as the local runtime
    /// places instances; always a soft spread over nodes, so one node lost takes few instances.
    /// </summary>
    private static List<V1TopologySpreadConstraint> Spread(SystemSpec spec, ServiceSpec service, IReadOnlyDictionary<string, string> labels)
    {
        var selector = new V1LabelSelector
        {
            MatchLabels = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [KubernetesNames.ServiceLabel] = labels[KubernetesNames.ServiceLabel],
                [KubernetesNames.RevisionLabel] = labels[KubernetesNames.RevisionLabel],
            },
        };
        var constraints = new List<V1TopologySpreadConstraint>();
        if (spec.ZoneNames.Count > 0)
        {
            constraints.Add(new V1TopologySpreadConstraint { MaxSkew = 1, TopologyKey = KubernetesNames.ZoneTopologyKey, WhenUnsatisfiable = "DoNotSchedule", LabelSelector = selector });
        }
        constraints.Add(new V1TopologySpreadConstraint { MaxSkew = 1, TopologyKey = "kubernetes.io/hostname", WhenUnsatisfiable = "ScheduleAnyway", LabelSelector = selector });
        return constraints;
    }
}
