namespace Flotilla.Controllers.InstanceSets;

/// <summary>
/// A service's failure history, as the back-off needs it. A failure after a stable run (ready
/// for <see cref="StableRun"/>) starts the count again, so one crash restarts at once.
/// </summary>
public sealed record ServiceHealth(int ConsecutiveFailures, int TotalRestarts, DateTimeOffset? LastFailureAt, string? LastFailure)
{
    public static readonly TimeSpan StableRun = TimeSpan.FromSeconds(10);
    public static ServiceHealth None { get; } = new(0, 0, null, null);

    public ServiceHealth WithFailure(DateTimeOffset at, string reason, bool afterStableRun) =>
        new(afterStableRun ? 1 : ConsecutiveFailures + 1, TotalRestarts + 1, at, reason);
}
