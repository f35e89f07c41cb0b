namespace Flotilla.Federation;

/// <summary>
/// One cluster as last seen: reachable or not (null: not probed yet) and why, the revision it
/// accepted and how it runs it, and the back-off of its retries (<see cref="RetryAt"/>).
/// </summary>
public sealed record ClusterObservation(
    string Cluster,
    bool? Reachable,
    string? Cause,
    ClusterProgress Progress,
    ClusterHealth Health,
    string? HealthDetail,
    int Failures,
    DateTimeOffset? RetryAt,
    bool Applying)
{
    public static ClusterObservation Initial(ClusterProgress progress) =>
        new(progress.Cluster, null, null, progress, progress.Revision == 0 ? ClusterHealth.Unknown : ClusterHealth.Progressing, null, 0, null, false);

    /// <summary>Ran revision <paramref name="revision"/> ready: what lets the next cluster of an ordered release go.</summary>
    public bool HealthyAt(long revision) => Progress.Revision == revision && Health == ClusterHealth.Healthy;

    /// <summary>Failed revision <paramref name="revision"/>: what stops the rest of an ordered release.</summary>
    public bool FailedAt(long revision) => Progress.Revision == revision && Health == ClusterHealth.Failed;
}
