namespace Flotilla.Controllers.InstanceSets;

/// <summary>
/// A service's failure history, as the back-off needs it. A failure after a stable run (ready
/// for <see cref="StableRun"/>) starts the count again, so one crash restarts at once. The count is
/// of one revision's failures (<see cref="Revision"/>): a revision that fails after another one did
/// starts its own count, and a revision that has not failed is never held back by another one's
/// back-off (a fixed revision applied after a crash loop starts at once, as a new ReplicaSet's pods do).
/// </summary>
public sealed record ServiceHealth(int ConsecutiveFailures, int TotalRestarts, DateTimeOffset? LastFailureAt, string? LastFailure, string? Revision = null)
{
    public static readonly TimeSpan StableRun = TimeSpan.FromSeconds(10);
    public static ServiceHealth None { get; } = new(0, 0, null, null);

    public ServiceHealth WithFailure(DateTimeOffset at, string reason, bool afterStableRun, string? revision = null) =>
        new(afterStableRun || (revision is not null && Revision is not null && revision != Revision) ? 1 : ConsecutiveFailures + 1, TotalRestarts + 1, at, reason, revision);

    /// <summary>Whether the back-off of this history holds back starting instances of <paramref name="revision"/>.</summary>
    public bool Holds(string revision) => Revision is null || Revision == revision;
}
