using Flotilla.Router.Metrics;
using HdrHistogram;

namespace Flotilla.Controllers.Rollouts;

/// <summary>Requests to one revision summed over a span of time: counts by status class and the latency histogram (µs).</summary>
public sealed class MetricsWindow
{
    private readonly long[] _classes = new long[5];

    public HistogramBase Latency { get; } = new LongHistogram(1, 600_000_000, 2);

    public long Requests => _classes.Sum();

    public long Errors => _classes[4];

    /// <summary>Share of requests not answered with a 5xx, in percent; null with no request.</summary>
    public double? SuccessRate => Requests == 0 ? null : 100.0 * (Requests - Errors) / Requests;

    /// <summary>A latency percentile in milliseconds; null with no request.</summary>
    public double? Percentile(double percentile) => Requests == 0 ? null : Latency.GetValueAtPercentile(percentile) / 1000.0;

    public void Add(RevisionInterval interval)
    {
        for (var i = 0; i < _classes.Length; i++)
        {
            _classes[i] += interval.Classes[i];
        }
        if (interval.Latency.TotalCount > 0)
        {
            Latency.Add(interval.Latency);
        }
    }

    public WindowSummary Summary() => new(Requests, SuccessRate, Percentile(50), Percentile(95), Percentile(99));
}

/// <summary>What a window saw, for status and history: requests, success rate in percent, latency percentiles in ms.</summary>
public sealed record WindowSummary(long Requests, double? SuccessRate, double? P50, double? P95, double? P99);
