namespace Flotilla.Runtime;

/// <summary>
/// The seam between controllers and whatever runs instances (local processes today; Docker,
/// Swarm and Kubernetes later). Drivers observe and act; they never decide how many to run.
/// </summary>
public interface IRuntimeDriver : IAsyncDisposable
{
    /// <summary>Set whenever an instance changes state, so controllers re-read <see cref="Observe"/>.</summary>
    WakeSignal Changed { get; }

    /// <summary>A snapshot of every instance the driver knows, exited ones included until forgotten.</summary>
    IReadOnlyList<InstanceStatus> Observe();

    /// <summary>Starts an instance. A launch that cannot start shows up as an exited instance with the reason.</summary>
    void Start(InstanceLaunch launch);

    /// <summary>SIGTERM (or the engine's equivalent), then a hard kill after <paramref name="grace"/>.</summary>
    Task StopAsync(string instanceId, TimeSpan grace, string reason);

    /// <summary>Drops an exited instance from observation once its exit has been accounted for.</summary>
    void Forget(string instanceId);
}
