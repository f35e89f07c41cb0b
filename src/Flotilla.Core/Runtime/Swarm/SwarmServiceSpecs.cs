using System.Security.Cryptography;
using System.Text;
using Docker.DotNet.Models;
using Flotilla.Runtime.Docker;

namespace Flotilla.Runtime.Swarm;

/// <summary>
/// The Swarm service of one revision: its replicas, resources, environment, secrets (Swarm
/// secrets, never values in the spec), labels, zones spread over node labels, and how it is
/// reached: DNS round-robin (this kernel has no IPVS for virtual IPs) and a host-mode port on each
/// task's node, where Flotilla's router and probes find it.
/// </summary>
internal static class SwarmServiceSpecs
{
    public const string OwnerLabel = "io.flotilla.owner";
    public const string ServiceLabel = "io.flotilla.service";
    public const string RevisionLabel = "io.flotilla.revision";

    /// <summary>The port every task listens on inside its container; Swarm publishes it on a free port of the node.</summary>
    public const int ContainerPort = 8080;

    /// <summary>
    /// How long a task Swarm shuts down keeps serving before its program gets SIGTERM. Swarm picks the
    /// task that goes on a scale-down; the delay is the router's time to take it out of rotation.
    /// </summary>
    public static readonly TimeSpan StopDelay = TimeSpan.FromSeconds(2);

    /// <summary>
    /// Runs the program under a shell that reads secrets from Swarm's secret files into the
    /// environment, and on SIGTERM waits <see cref="StopDelay"/> before passing it on.
    /// </summary>
    private const string Wrapper = """
        for s in /run/secrets/flotilla-env-*; do [ -e "$s" ] && export "${s#/run/secrets/flotilla-env-}=$(cat "$s")"; done
        trap 'sleep "$FLOTILLA_STOP_DELAY"; kill -TERM "$child" 2>/dev/null' TERM INT
        "$@" &
        child=$!
        while :; do wait "$child"; status=$?; kill -0 "$child" 2>/dev/null || exit "$status"; done
        """;

    /// <summary>How long a program has after SIGTERM before Swarm kills it.</summary>
    private static readonly TimeSpan StopGrace = TimeSpan.FromSeconds(10);

    public static string Name(string owner, string service, string revision) => $"flotilla-{owner}-{service}-{revision[..Math.Min(12, revision.Length)]}";

    /// <summary>The name of a Swarm secret holding one value: by content, so a changed value is a new secret.</summary>
    public static string SecretName(string owner, string revision, string variable, string value) =>
        $"flotilla-{owner}-{revision[..Math.Min(8, revision.Length)]}-{variable.ToLowerInvariant().Replace('_', '-')}-{Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(value)))[..8]}";

    public static ServiceSpec Build(string owner, InstanceLaunch launch, ulong replicas, IReadOnlyList<(Secrets.SecretRef Ref, string SecretId, string SecretName)> secrets)
    {
        var artifact = launch.Env.GetValueOrDefault("ARTIFACT");
        var env = launch.Env.ToDictionary(e => e.Key, e => InContainer(e.Value, artifact), StringComparer.Ordinal);
        env["PORT"] = ContainerPort.ToString(System.Globalization.CultureInfo.InvariantCulture);
        env["ASPNETCORE_URLS"] = $"http://0.0.0.0:{ContainerPort}";
        env["FLOTILLA_INSTANCE"] = "{{.Task.Name}}";
        env["FLOTILLA_STOP_DELAY"] = ((int)StopDelay.TotalSeconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
        env.Remove("FLOTILLA_ZONE");
        foreach (var (secret, _, _) in secrets.Where(s => s.Ref.AsFile))
        {
            env[secret.Variable] = $"/run/secrets/flotilla-file-{secret.Variable}";
        }
        var command = CommandLine.Expand(launch.Command, env).Select(a => InContainer(a, artifact)).ToList();
        var labels = new Dictionary<string, string> { [OwnerLabel] = owner, [ServiceLabel] = launch.Service, [RevisionLabel] = launch.Revision };
        return new ServiceSpec
        {
            Name = Name(owner, launch.Service, launch.Revision),
            Labels = labels,
            Mode = new ServiceMode { Replicated = new ReplicatedService { Replicas = replicas } },
            TaskTemplate = new TaskSpec
            {
                ContainerSpec = new ContainerSpec
                {
                    Image = launch.Image ?? ContainerImages.For(artifact),
                    // A prebuilt image without a command runs its own entrypoint (and has no stop delay: Flotilla cannot wrap what it does not know).
                    Command = command.Count == 0 ? null : ["/bin/sh", "-c", Wrapper, "flotilla-run", .. command],
                    Env = env.Select(e => $"{e.Key}={e.Value}").ToList(),
                    Labels = labels,
                    Dir = "/",
                    Init = true,
                    StopSignal = "SIGTERM",
                    StopGracePeriod = StopDelay + StopGrace,
                    Secrets = secrets.Select(s => new SecretReference
                    {
                        SecretID = s.SecretId,
                        SecretName = s.SecretName,
                        File = new SecretReferenceFileTarget { Name = $"flotilla-{(s.Ref.AsFile ? "file" : "env")}-{s.Ref.Variable}", UID = "0", GID = "0", Mode = 0400 },
                    }).ToList(),
                },
                Resources = new ResourceRequirements
                {
                    Limits = new SwarmLimit
                    {
                        NanoCPUs = launch.Resources?.Cpu is { } cpu ? (long)(cpu * 1e9) : 0,
                        MemoryBytes = launch.Resources?.MemoryBytes ?? 0,
                    },
                },
                // Swarm keeps each slot filled (it restarts a task that dies, on another node when its node is lost).
                RestartPolicy = new SwarmRestartPolicy { Condition = "any", Delay = TimeSpan.Zero, MaxAttempts = 0 },
                Placement = new Placement { Preferences = [new PlacementPreference { Spread = new SpreadOver { SpreadDescriptor = "node.labels.zone" } }] },
                LogDriver = new global::Docker.DotNet.Models.SwarmDriver { Name = "json-file", Options = new Dictionary<string, string> { ["max-size"] = "10m", ["max-file"] = "1" } },
            },
            EndpointSpec = new EndpointSpec
            {
                Mode = "dnsrr",
                Ports = [new PortConfig { Protocol = "tcp", TargetPort = ContainerPort, PublishMode = "host" }],
            },
        };
    }

    private static string InContainer(string value, string? artifact) =>
        artifact is not null && value.StartsWith(artifact, StringComparison.Ordinal) ? ContainerImages.ArtifactPath + value[artifact.Length..] : value;
}
