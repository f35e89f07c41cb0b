namespace Flotilla.Databases.Engines;

/// <summary>
/// What the engine controller sees of a member: whether its data directory holds a cluster, the
/// postmaster's pid if it runs, whether it accepts connections, and how often it died lately
/// (the restart back-off counts these). For failover: whether its directory is a standby's
/// (<c>standby.signal</c>), whether the running server is in recovery, how much WAL it has
/// received (the promotion candidate is the one with most), since when it has not answered, and
/// the port its <c>primary_conninfo</c> streams from.
/// </summary>
public sealed record MemberObservation(bool Initialized, int? Pid, bool Ready, int Failures, DateTimeOffset? LastFailure,
    bool Standby = false, bool? InRecovery = null, long? ReceivedLsn = null, DateTimeOffset? DownSince = null, int? UpstreamPort = null)
{
    public static MemberObservation Absent { get; } = new(false, null, false, 0, null);
}
