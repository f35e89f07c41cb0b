namespace Flotilla.Federation;

/// <summary>How often clusters are looked at and how retries of an unreachable one back off.</summary>
public sealed record FederationOptions
{
    /// <summary>How often each cluster's worker looks again when nothing wakes it.</summary>
    public TimeSpan Tick { get; init; } = TimeSpan.FromMilliseconds(500);

    /// <summary>How often a reachable cluster's engine is asked whether it still answers.</summary>
    public TimeSpan ProbeInterval { get; init; } = TimeSpan.FromSeconds(2);

    /// <summary>How long one probe may take: an engine cut off the network hangs instead of refusing.</summary>
    public TimeSpan ProbeTimeout { get; init; } = TimeSpan.FromSeconds(5);

    /// <summary>The first retry of an unreachable cluster; each failure in a row doubles it, up to <see cref="MaxBackoff"/>.</summary>
    public TimeSpan FirstBackoff { get; init; } = TimeSpan.FromSeconds(1);

    public TimeSpan MaxBackoff { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>How long one cluster's apply may take (its images built, its manager asked) before it counts as unreachable.</summary>
    public TimeSpan ApplyTimeout { get; init; } = TimeSpan.FromMinutes(5);
}
