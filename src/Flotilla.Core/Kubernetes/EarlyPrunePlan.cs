namespace Flotilla.Kubernetes;

/// <summary>
/// What <c>apply --prune</c> deletes before it waits for the new revisions: old revisions that a newer old
/// one, fully available, has made useless; and the services none of whose old revisions is fully available,
/// kept whole because which of them serves cannot be known.
/// </summary>
public sealed record EarlyPrunePlan(IReadOnlyList<EarlyPrunePlan.Deletion> Delete, IReadOnlyList<EarlyPrunePlan.Unsure> NoneAvailable)
{
    /// <summary>An old revision to delete now, and the newer available one that serves in its place.</summary>
    public sealed record Deletion(OldRevision Revision, string NewerAvailable);

    /// <summary>A service whose old revisions are all kept: none is fully available.</summary>
    public sealed record Unsure(string Service, IReadOnlyList<OldRevision> Revisions);
}
