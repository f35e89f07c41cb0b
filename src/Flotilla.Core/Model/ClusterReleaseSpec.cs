namespace Flotilla.Model;

/// <summary>How a release reaches the clusters: all at once, or one after the other, the first the canary of the rest.</summary>
public sealed record ClusterReleaseSpec(bool Ordered, TimeSpan Deadline, SpecLocation? At)
{
    /// <summary>How long a cluster may take to run the new revision ready before its release counts as failed.</summary>
    public static readonly TimeSpan DefaultDeadline = TimeSpan.FromMinutes(10);

    public static readonly ClusterReleaseSpec Parallel = new(false, DefaultDeadline, null);
}
