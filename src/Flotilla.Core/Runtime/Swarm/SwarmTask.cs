namespace Flotilla.Runtime.Swarm;

/// <summary>
/// One task of a revision's Swarm service as the manager reports it: which slot it fills, where it
/// runs and how it is reached (the node's address and the host port Swarm published for it).
/// </summary>
internal sealed record SwarmTask(
    string Id,
    string SwarmService,
    string Service,
    string Revision,
    int Slot,
    string? NodeId,
    string State,
    string DesiredState,
    string? Error,
    int? HostPort,
    DateTimeOffset CreatedAt,
    long? ExitCode)
{
    /// <summary>Swarm still wants this task to run (it is not being shut down or removed).</summary>
    public bool Wanted => DesiredState is "running" or "ready" or "accepted" or "assigned" or "pending" or "new";

    /// <summary>The container is gone, or never was.</summary>
    public bool Ended => State is "complete" or "shutdown" or "failed" or "rejected" or "remove" or "orphaned";

    public bool Running => State == "running";
}
