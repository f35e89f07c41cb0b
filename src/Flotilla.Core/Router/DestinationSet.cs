namespace Flotilla.Router;

/// <summary>
/// The instances of one service that receive traffic, precompiled for the hot path: picking
/// one is a counter increment and an array read, no allocation and no lookup.
/// </summary>
internal sealed class DestinationSet(DestinationState[] destinations)
{
    private int _next = -1;

    public static DestinationSet Empty { get; } = new([]);

    public bool IsEmpty => destinations.Length == 0;

    /// <summary>
    /// Marks every destination on the same machine as <paramref name="unreachable"/> failed for a while:
    /// a machine that acknowledges nothing on one connection (its network is cut) will not on another.
    /// </summary>
    public void MarkMachineFailed(DestinationState unreachable)
    {
        var host = new Uri(unreachable.Prefix).Host;
        foreach (var destination in destinations)
        {
            if (destination == unreachable || new Uri(destination.Prefix).Host == host)
            {
                destination.MarkFailed();
            }
        }
    }

    /// <summary>Round-robin over healthy destinations other than the excluded ones; any other one if none is healthy.</summary>
    public DestinationState? Pick(DestinationState? exclude = null, DestinationState? alsoExclude = null)
    {
        var count = destinations.Length;
        if (count == 0)
        {
            return null;
        }
        var start = (uint)Interlocked.Increment(ref _next);
        DestinationState? fallback = null;
        for (var i = 0u; i < count; i++)
        {
            var candidate = destinations[(start + i) % count];
            if (candidate == exclude || candidate == alsoExclude)
            {
                continue;
            }
            if (candidate.IsHealthy())
            {
                return candidate;
            }
            fallback ??= candidate;
        }
        return fallback;
    }
}
