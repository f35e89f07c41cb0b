namespace Flotilla.Controllers.Functions;

/// <summary>
/// The autoscaler's windows, as Knative's KPA has them: demand averaged over <see cref="Stable"/>
/// decides the count; averaged over the short <see cref="Panic"/> window it scales up at once when a
/// burst doubles what runs (and then does not scale down for a stable window); a lower count is
/// taken only when it has been enough for all of <see cref="ScaleDownDelay"/> (no flapping on a boundary).
/// </summary>
public sealed record ScaleWindows(TimeSpan Stable, TimeSpan Panic, TimeSpan ScaleDownDelay)
{
    public static ScaleWindows Default { get; } = new(TimeSpan.FromSeconds(60), TimeSpan.FromSeconds(6), TimeSpan.FromSeconds(30));
}
