using Flotilla.Model;
using Flotilla.Runtime.Docker;
using Flotilla.Runtime.Kubernetes;
using Flotilla.Runtime.Swarm;

namespace Flotilla.Runtime;

/// <summary>
/// The runtimes of one control plane, behind the one seam the controllers know: local processes
/// always, a Docker Engine once a revision asks for one. Each launch names its runtime, so an
/// environment moved from one runtime to another is an ordinary rolling update: the new revision's
/// instances start on the new runtime while the old ones still serve.
/// </summary>
public sealed class RuntimeSet : IRuntime
{
    private readonly LocalProcessDriver _local;
    private readonly Lazy<DockerDriver> _docker;
    private readonly Lazy<SwarmDriver> _swarm;
    private readonly Lazy<KubernetesDriver> _kubernetes;

    /// <param name="dockerEndpoint">The Docker Engine (null: DOCKER_HOST, else the default socket).</param>
    /// <param name="swarmEndpoint">A Swarm manager's engine (null: the same default as Docker's).</param>
    /// <param name="record">Where the runtimes tell what they saw happen (a node lost, a task moved).</param>
    /// <param name="kubernetes">The cluster of <c>runtime: kubernetes</c> (null: the kubeconfig's current-context).</param>
    public RuntimeSet(string stateDirectory, IInstanceJournal journal, TimeProvider time, Func<Secrets.SecretRef, string> secrets, string? dockerEndpoint = null,
        string? swarmEndpoint = null, Action<string, string, bool>? record = null, Isolation.InstanceUsers? users = null, KubernetesTarget? kubernetes = null)
    {
        _local = new LocalProcessDriver(stateDirectory, journal, time, secrets, Changed, users);
        _docker = new Lazy<DockerDriver>(() => new DockerDriver(stateDirectory, journal, time, secrets, Changed, dockerEndpoint, users));
        _swarm = new Lazy<SwarmDriver>(() => new SwarmDriver(stateDirectory, time, secrets, Changed, swarmEndpoint ?? dockerEndpoint, record));
        _kubernetes = new Lazy<KubernetesDriver>(() => new KubernetesDriver(stateDirectory, kubernetes ?? new KubernetesTarget(), time, Changed, record, containerPort: (kubernetes ?? new KubernetesTarget()).ContainerPort, secrets: secrets));
    }

    /// <summary>The swarm, once a revision has used it (its nodes for status), or null.</summary>
    public SwarmDriver? Swarm => _swarm.IsValueCreated ? _swarm.Value : null;

    /// <summary>Reads what runs on the swarm before the controllers plan anything, so nothing is started twice after a restart.</summary>
    public Task AttachSwarmAsync(CancellationToken cancellationToken) => _swarm.Value.AttachAsync(cancellationToken);

    /// <summary>The Kubernetes cluster, once a revision has used it, or null.</summary>
    public KubernetesDriver? Kubernetes => _kubernetes.IsValueCreated ? _kubernetes.Value : null;

    /// <summary>Reads this control plane's ReplicaSets and pods before the controllers plan anything, so nothing is started twice after a restart.</summary>
    public Task AttachKubernetesAsync(CancellationToken cancellationToken) => _kubernetes.Value.AttachAsync(cancellationToken);

    public WakeSignal Changed { get; } = new();

    /// <summary>Why limits are not enforced for local processes (containers always have them).</summary>
    public string? LimitsUnavailable => _local.LimitsUnavailable;

    /// <summary>Why <paramref name="runtime"/> cannot enforce CPU and memory limits here, or null.</summary>
    public string? LimitsUnavailableOn(string runtime) => runtime == RuntimeKind.Local ? _local.LimitsUnavailable : null;

    private IEnumerable<IRuntime> Created => new IRuntime?[] { _local, _docker.IsValueCreated ? _docker.Value : null, _swarm.IsValueCreated ? _swarm.Value : null, _kubernetes.IsValueCreated ? _kubernetes.Value : null }.OfType<IRuntime>();

    private IRuntime For(string runtime) => runtime switch
    {
        RuntimeKind.Docker => _docker.Value,
        RuntimeKind.Swarm => _swarm.Value,
        RuntimeKind.Kubernetes => _kubernetes.Value,
        _ => _local,
    };

    /// <summary>
    /// Makes ready what a revision on <paramref name="runtime"/> needs before any instance starts (a
    /// container image of its artifact, a cluster that answers); throws <see cref="DockerUnavailableException"/> (or
    /// <see cref="KubernetesApplyException"/>) saying what is missing.
    /// </summary>
    public Task PrepareAsync(string runtime, string? image, string? artifactDirectory, string? digest, Action<string>? progress, CancellationToken cancellationToken) =>
        runtime switch
        {
            RuntimeKind.Docker => _docker.Value.PrepareAsync(image, artifactDirectory, digest, progress, cancellationToken),
            RuntimeKind.Swarm => _swarm.Value.PrepareAsync(image, artifactDirectory, digest, progress, cancellationToken),
            RuntimeKind.Kubernetes => _kubernetes.Value.PrepareAsync(image, cancellationToken),
            _ => Task.CompletedTask,
        };

    public IReadOnlyList<InstanceStatus> Observe() => Created.SelectMany(d => d.Observe()).ToList();

    public void Start(InstanceLaunch launch) => For(launch.RuntimeName).Start(launch);

    public Task StopAsync(string instanceId, TimeSpan grace, string reason) => Task.WhenAll(Created.Select(d => d.StopAsync(instanceId, grace, reason)));

    public void Forget(string instanceId)
    {
        foreach (var driver in Created)
        {
            driver.Forget(instanceId);
        }
    }

    public Task<bool> AdoptAsync(InstanceLaunch launch, int pid, long? processStartTime, DateTimeOffset startedAt) =>
        For(launch.RuntimeName).AdoptAsync(launch, pid, processStartTime, startedAt);

    /// <summary>Strays of every runtime in use; <paramref name="docker"/>: also look in the Docker Engine (when this environment has used it).</summary>
    public async Task<IReadOnlyList<string>> StopStraysAsync(TimeSpan grace, bool docker)
    {
        var local = await _local.StopStraysAsync(grace);
        return docker || _docker.IsValueCreated ? [.. local, .. await _docker.Value.StopStraysAsync(grace)] : local;
    }

    public Task<IReadOnlyList<string>> StopStraysAsync(TimeSpan grace) => StopStraysAsync(grace, docker: false);

    public void LeaveRunningOnDispose()
    {
        foreach (var driver in Created)
        {
            driver.LeaveRunningOnDispose();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var driver in Created)
        {
            await driver.DisposeAsync();
        }
    }
}
