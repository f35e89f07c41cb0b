namespace Flotilla.Runtime;

/// <summary>An immutable observation of one instance.</summary>
public sealed record InstanceStatus(
    string Id,
    string Service,
    string Revision,
    int Pid,
    long? ProcessStartTime,
    int Port,
    InstanceState State,
    DateTimeOffset StartedAt,
    DateTimeOffset? ReadySince,
    bool WasReady,
    bool StopRequested,
    int? ExitCode,
    string? Reason,
    string LogPath,
    string? Zone = null,
    string Host = "127.0.0.1")
{
    /// <summary>The machine it runs on, where an engine places it (Swarm: the node), or null.</summary>
    public string? Node { get; init; }

    public bool IsLive => State is not (InstanceState.Exited or InstanceState.Stopping or InstanceState.Unhealthy);
    public bool InRotation => State == InstanceState.Ready;
}
