namespace Flotilla.Router;

/// <summary>
/// Live counters of one instance as the router sees it. The same object survives routing
/// table swaps, so in-flight counts stay true while an instance is drained.
/// </summary>
/// <param name="time">The clock of passive health (a fake one in tests).</param>
internal sealed class DestinationState(string instanceId, string prefix, Metrics.RevisionMetrics metrics, TimeProvider time)
{
    public static readonly TimeSpan PassiveFailurePenalty = TimeSpan.FromSeconds(2);
    private long _inFlight;
    private long _failedUntil;

    public string InstanceId { get; } = instanceId;
    public string Prefix { get; } = prefix;
    public long InFlight => Volatile.Read(ref _inFlight);

    /// <summary>How requests to this instance are transformed (it learns whether the instance keeps connections).</summary>
    public ForwardingTransformer Transformer { get; } = new();

    /// <summary>The counters of the service and revision this instance runs.</summary>
    public Metrics.RevisionMetrics Metrics { get; } = metrics;

    /// <summary>False for a short while after connecting to it failed (passive health).</summary>
    public bool IsHealthy() => Volatile.Read(ref _failedUntil) <= time.GetTimestamp();

    public void MarkFailed() => Volatile.Write(ref _failedUntil, time.GetTimestamp() + (long)(PassiveFailurePenalty.TotalSeconds * time.TimestampFrequency));

    public void Enter() => Interlocked.Increment(ref _inFlight);

    public void Leave() => Interlocked.Decrement(ref _inFlight);
}
