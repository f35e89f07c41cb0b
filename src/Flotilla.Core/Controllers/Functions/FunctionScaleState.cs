namespace Flotilla.Controllers.Functions;

/// <summary>
/// What the autoscaler remembers of one function between looks: the count it decided, the demand
/// samples of the stable window, the counts demand asked for during the scale-down delay, when the
/// last request ended, and until when it is in panic mode.
/// </summary>
public sealed record FunctionScaleState(
    int Desired,
    IReadOnlyList<DemandSample> Samples,
    IReadOnlyList<WantSample> Wants,
    DateTimeOffset? LastRequestAt,
    DateTimeOffset? PanicUntil = null)
{
    /// <summary>A function first seen at <paramref name="now"/> running <paramref name="running"/> instances: those have their idle time from now; none are started for no request.</summary>
    public static FunctionScaleState Initial(int running, DateTimeOffset now) => new(running, [], [], running > 0 ? now : null);
}

/// <summary>The average number of requests at once over the interval that ended at <see cref="At"/>.</summary>
public sealed record DemandSample(DateTimeOffset At, double Concurrency);

/// <summary>The count demand asked for at <see cref="At"/>.</summary>
public sealed record WantSample(DateTimeOffset At, int Count);
