namespace Flotilla.Controllers.Functions;

/// <summary>
/// What the autoscaler remembers of one function between looks: the count it decided, the demand
/// samples of the stable window, the counts demand asked for during the scale-down delay, when the
/// last request ended, until when it is in panic mode, and the instances adopted from a previous
/// control plane that are kept whatever the demand says (<see cref="Kept"/>).
/// </summary>
public sealed record FunctionScaleState(
    int Desired,
    IReadOnlyList<DemandSample> Samples,
    IReadOnlyList<WantSample> Wants,
    DateTimeOffset? LastRequestAt,
    DateTimeOffset? PanicUntil = null,
    KeptInstances? Kept = null)
{
    /// <summary>
    /// A function first seen at <paramref name="now"/> running <paramref name="running"/> instances: those have their idle time
    /// from now, and are kept for <paramref name="keep"/> whatever the demand; none are started for no request.
    /// </summary>
    public static FunctionScaleState Initial(int running, DateTimeOffset now, TimeSpan keep = default) =>
        new(running, [], [], running > 0 ? now : null, Kept: running > 0 && keep > TimeSpan.Zero ? new KeptInstances(running, now + keep) : null);
}

/// <summary>The average number of requests at once over the interval that ended at <see cref="At"/>.</summary>
public sealed record DemandSample(DateTimeOffset At, double Concurrency);

/// <summary>The count demand asked for at <see cref="At"/>.</summary>
public sealed record WantSample(DateTimeOffset At, int Count);
