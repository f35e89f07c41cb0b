namespace Flotilla.Model;

/// <summary>
/// Lifecycle bounds of an instance: how long it may take to become ready, how long in-flight
/// requests may drain after it leaves rotation, and the grace between SIGTERM and SIGKILL.
/// </summary>
public sealed record TimeoutsSpec(TimeSpan Start, TimeSpan Drain, TimeSpan Stop)
{
    public static TimeoutsSpec Default { get; } = new(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(10), TimeSpan.FromSeconds(10));
}
