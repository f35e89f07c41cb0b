using HdrHistogram;

namespace Flotilla.Router.Metrics;

/// <summary>
/// What the router saw of one revision of one service: requests by status class and their
/// latency. Cumulative counters and fixed buckets feed Prometheus; an HdrHistogram recorder
/// hands the control plane exact interval percentiles for canary analysis. Recording is a few
/// interlocked increments: it runs on every proxied request.
/// </summary>
internal sealed class RevisionMetrics(string service, string revision)
{
    /// <summary>Prometheus bucket bounds in seconds.</summary>
    public static readonly double[] Buckets = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];
    private static readonly long[] BucketMicros = Buckets.Select(b => (long)(b * 1_000_000)).ToArray();
    private const long HighestMicros = 600_000_000;
    private readonly long[] _classes = new long[5];
    private readonly long[] _intervalClasses = new long[5];
    private readonly long[] _buckets = new long[Buckets.Length + 1];
    private readonly Recorder _latency = new(1, HighestMicros, 2, (id, low, high, digits) => new LongHistogram(id, low, high, digits));
    private long _sumMicros;
    private long _lastRequestTicks;

    public string Service { get; } = service;
    public string Revision { get; } = revision;

    /// <summary>When this revision last served a request (Environment.TickCount64), for pruning.</summary>
    public long LastRequestTicks => Volatile.Read(ref _lastRequestTicks);

    public void Record(int status, long micros)
    {
        var statusClass = Math.Clamp(status / 100, 1, 5) - 1;
        Interlocked.Increment(ref _classes[statusClass]);
        Interlocked.Increment(ref _intervalClasses[statusClass]);
        var bucket = 0;
        while (bucket < BucketMicros.Length && micros > BucketMicros[bucket])
        {
            bucket++;
        }
        Interlocked.Increment(ref _buckets[bucket]);
        Interlocked.Add(ref _sumMicros, micros);
        _latency.RecordValue(Math.Clamp(micros, 1, HighestMicros));
        Volatile.Write(ref _lastRequestTicks, Environment.TickCount64);
    }

    /// <summary>Everything recorded since the last call (one reader: the control plane).</summary>
    public RevisionInterval TakeInterval()
    {
        var classes = new long[5];
        for (var i = 0; i < classes.Length; i++)
        {
            classes[i] = Interlocked.Exchange(ref _intervalClasses[i], 0);
        }
        return new RevisionInterval(Service, Revision, classes, _latency.GetIntervalHistogram());
    }

    public (long[] Classes, long[] Buckets, long SumMicros) Cumulative()
    {
        return ((long[])_classes.Clone(), (long[])_buckets.Clone(), Interlocked.Read(ref _sumMicros));
    }
}
