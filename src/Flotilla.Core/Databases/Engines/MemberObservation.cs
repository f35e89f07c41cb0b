namespace Flotilla.Databases.Engines;

/// <summary>
/// What the engine controller sees of a member: whether its data directory holds a cluster, the
/// postmaster's pid if it runs, whether it accepts connections, and how often it died lately
/// (the restart back-off counts these).
/// </summary>
public sealed record MemberObservation(bool Initialized, int? Pid, bool Ready, int Failures, DateTimeOffset? LastFailure)
{
    public static MemberObservation Absent { get; } = new(false, null, false, 0, null);
}
