namespace Flotilla.Hosting;

/// <summary>
/// Where a control plane keeps its state (store, artifacts, instance directories, logs) and how
/// it runs the router: in this process (<c>flotilla up</c>) or as its own process that outlives
/// the control plane (<c>flotilla server</c>; <see cref="RouterCommand"/> is how to run Flotilla).
/// </summary>
public sealed record ControlPlaneOptions(string DataDirectory, IReadOnlyList<string>? RouterCommand = null, TimeProvider? Time = null)
{
    /// <summary>Extra arguments of a router process this control plane starts (e.g. its own Prometheus listener).</summary>
    public IReadOnlyList<string> RouterArguments { get; init; } = [];

    /// <summary>The data plane's engine: <c>yarp</c> (the embedded router, the default) or <c>haproxy</c> (HAProxy driven through its runtime API; see the README's "Router engines").</summary>
    public string RouterEngine { get; init; } = "yarp";

    /// <summary>The build cache; by default inside the data directory, shared where several control planes build the same sources (tests).</summary>
    public string ArtifactsDirectory { get; init; } = Path.Combine(DataDirectory, "artifacts");

    /// <summary>The Docker Engine for <c>runtime: docker</c>; null: DOCKER_HOST, else /var/run/docker.sock.</summary>
    public string? DockerEndpoint { get; init; }

    /// <summary>The Swarm manager that runs environments with <c>runtime: swarm</c> (FLOTILLA_SWARM; null: the Docker Engine's endpoint).</summary>
    public string? SwarmEndpoint { get; init; } = Environment.GetEnvironmentVariable("FLOTILLA_SWARM") is { Length: > 0 } swarm ? swarm : null;

    /// <summary>
    /// The cluster that runs environments with <c>runtime: kubernetes</c>: a kubeconfig context (FLOTILLA_KUBECONTEXT; null: the
    /// kubeconfig's current-context), the kubeconfig read as kubectl reads it (<see cref="Kubeconfig"/>, else KUBECONFIG, else ~/.kube/config),
    /// and the namespace its ReplicaSets go to (FLOTILLA_KUBERNETES_NAMESPACE; null: the context's namespace, else "default").
    /// </summary>
    public Runtime.Kubernetes.KubernetesTarget Kubernetes { get; init; } = Runtime.Kubernetes.KubernetesTarget.FromEnvironment();

    /// <summary>
    /// Routers on other machines that serve what this control plane's router serves (FLOTILLA_ROUTERS: admin URLs, comma
    /// separated, e.g. <c>http://10.0.0.12:7071</c>, each a <c>flotilla router --bind ADDRESS</c> started with FLOTILLA_ROUTER_SECRET
    /// set to <see cref="RouterReplicaSecret"/>). A server feeds them its default environment.
    /// </summary>
    public string? RouterReplicas { get; init; } = Environment.GetEnvironmentVariable("FLOTILLA_ROUTERS") is { Length: > 0 } routers ? routers : null;

    /// <summary>The admin secret of the router replicas (FLOTILLA_ROUTERS_SECRET).</summary>
    public string? RouterReplicaSecret { get; init; } = Environment.GetEnvironmentVariable("FLOTILLA_ROUTERS_SECRET");

    /// <summary>
    /// Whether each service's local instances run as a Unix user of their own when Flotilla runs as root
    /// (<c>flotilla server --instance-users off</c>, or FLOTILLA_INSTANCE_USERS=off: they share Flotilla's user, with a warning).
    /// </summary>
    public bool InstanceUsers { get; init; } = !string.Equals(Environment.GetEnvironmentVariable("FLOTILLA_INSTANCE_USERS"), "off", StringComparison.OrdinalIgnoreCase);

    /// <summary>The default for <c>up</c>: .flotilla/ beside the spec file, like .terraform/ or .git/.</summary>
    public static ControlPlaneOptions For(Model.SystemSpec spec) => new(Path.Combine(spec.Directory, ".flotilla"));
}
