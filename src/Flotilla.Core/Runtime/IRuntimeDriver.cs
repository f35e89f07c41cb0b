namespace Flotilla.Runtime;

/// <summary>
/// The seam between controllers and a runtime without a scheduler of its own (local processes,
/// one Docker Engine): Flotilla decides where and how many, and the driver starts, observes and
/// stops each instance it is asked for. Drivers observe and act; they never decide how many to run.
/// (Engines that schedule by themselves, Swarm and Kubernetes, are asked for a count per revision
/// instead: see DESIGN.md, "Runtimes".)
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

/// <summary>
/// A runtime as a control plane owns it: the controllers' view (<see cref="IRuntimeDriver"/>), plus
/// what outlives one control plane: instances it adopts after a restart, strays it stops, and
/// instances it leaves running when it ends.
/// </summary>
public interface IRuntime : IRuntimeDriver
{
    /// <summary>Why CPU/memory limits cannot be enforced by this runtime on this machine, or null when they can.</summary>
    string? LimitsUnavailable { get; }

    /// <summary>
    /// Takes over an instance an earlier control plane started, if that very instance still runs;
    /// completes after its first probe, so it goes back into rotation without a gap. False when it is gone.
    /// </summary>
    Task<bool> AdoptAsync(InstanceLaunch launch, int pid, long? processStartTime, DateTimeOffset startedAt);

    /// <summary>Stops instances of this control plane that nobody recorded (started just before a crash); returns what it stopped.</summary>
    Task<IReadOnlyList<string>> StopStraysAsync(TimeSpan grace);

    /// <summary>Makes disposal end supervision only: running instances keep running for the next control plane to adopt.</summary>
    void LeaveRunningOnDispose();
}
