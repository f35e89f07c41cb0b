namespace Flotilla.Federation;

/// <summary>
/// How far one cluster got with the federation's revisions, kept on disk so a restart neither
/// re-releases nor forgets a failure: the last revision it accepted (as its own revision
/// <see cref="PlaneRevision"/>, at <see cref="AppliedAt"/>), and whether that release failed.
/// </summary>
public sealed record ClusterProgress(string Cluster, long Revision, long PlaneRevision, DateTimeOffset AppliedAt, string? Failed = null)
{
    public static ClusterProgress None(string cluster) => new(cluster, 0, 0, DateTimeOffset.MinValue);
}
