namespace Flotilla.Model;

/// <summary>
/// Crash-loop back-off: the first restart is immediate, each further consecutive failure
/// doubles the delay from <see cref="Backoff"/> up to <see cref="MaxBackoff"/>.
/// </summary>
public sealed record RestartSpec(TimeSpan Backoff, TimeSpan MaxBackoff)
{
    public static RestartSpec Default { get; } = new(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(30));

    /// <summary>The wait before starting again after <paramref name="consecutiveFailures"/> failures in a row.</summary>
    public TimeSpan DelayAfter(int consecutiveFailures)
    {
        if (consecutiveFailures <= 1)
        {
            return TimeSpan.Zero;
        }
        var exponent = Math.Min(consecutiveFailures - 2, 30);
        var delay = Backoff.TotalMilliseconds * Math.Pow(2, exponent);
        return TimeSpan.FromMilliseconds(Math.Min(delay, MaxBackoff.TotalMilliseconds));
    }
}
