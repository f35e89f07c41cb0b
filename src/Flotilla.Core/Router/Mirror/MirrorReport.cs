using HdrHistogram;

namespace Flotilla.Router.Mirror;

/// <summary>
/// The running tally of one service's parallel run: requests compared, mismatches after noise is
/// taken out, the fields that differ most with an example each, the fields found to be noise, the
/// candidate's errors, and the latency of the candidate and of stable on the same copies. Written by
/// the comparison workers (under a lock), read by snapshots.
/// </summary>
internal sealed class MirrorReport(string candidate, string run)
{
    private const int KeptFields = 50;
    private readonly Lock _gate = new();
    private readonly Dictionary<string, FieldTally> _fields = new(StringComparer.Ordinal);
    private readonly Dictionary<string, long> _noise = new(StringComparer.Ordinal);
    private readonly LongHistogram _stableLatency = new(1, 600_000_000, 2);
    private readonly LongHistogram _candidateLatency = new(1, 600_000_000, 2);
    private readonly DateTimeOffset _startedAt = DateTimeOffset.UtcNow;
    private long _compared, _mismatches, _candidateErrors, _hashed, _skipped;
    private bool _closed;

    public bool IsClosed
    {
        get
        {
            lock (_gate)
            {
                return _closed;
            }
        }
    }

    /// <summary>The run is over (its mirror left the routing table): copies still queued no longer count.</summary>
    public void Close()
    {
        lock (_gate)
        {
            _closed = true;
        }
    }

    public string Candidate { get; } = candidate;
    public string Run { get; } = run;

    /// <summary>Fields found to differ between two stable answers so far: noise, never held against the candidate.</summary>
    public bool IsNoise(string field)
    {
        lock (_gate)
        {
            return _noise.ContainsKey(field);
        }
    }

    public void Skipped()
    {
        lock (_gate)
        {
            _skipped += _closed ? 0 : 1;
        }
    }

    public void CandidateFailed(string why, long stableMicros)
    {
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }
            _compared++;
            _mismatches++;
            _candidateErrors++;
            Tally(new Difference("candidate error", "(an answer)", why));
            RecordLatency(_stableLatency, stableMicros);
        }
    }

    public void Record(IReadOnlyList<Difference> real, IEnumerable<string> noise, bool hashed, long stableMicros, long candidateMicros)
    {
        lock (_gate)
        {
            if (_closed)
            {
                return;
            }
            _compared++;
            _hashed += hashed ? 1 : 0;
            _mismatches += real.Count > 0 ? 1 : 0;
            foreach (var field in noise)
            {
                _noise[field] = _noise.GetValueOrDefault(field) + 1;
            }
            foreach (var difference in real.DistinctBy(d => ResponseComparer.Normalize(d.Path)))
            {
                Tally(difference);
            }
            RecordLatency(_stableLatency, stableMicros);
            RecordLatency(_candidateLatency, candidateMicros);
        }
    }

    /// <summary>0: not measured (a write has no second stable copy to time).</summary>
    private static void RecordLatency(LongHistogram histogram, long micros)
    {
        if (micros > 0)
        {
            histogram.RecordValue(Math.Min(micros, 600_000_000));
        }
    }

    private void Tally(Difference difference)
    {
        var field = ResponseComparer.Normalize(difference.Path);
        if (_fields.TryGetValue(field, out var tally))
        {
            tally.Count++;
        }
        else if (_fields.Count < KeptFields)
        {
            _fields[field] = new FieldTally { Count = 1, Example = difference };
        }
    }

    public ParallelReport Snapshot()
    {
        lock (_gate)
        {
            return new ParallelReport(Candidate, Run, _startedAt, _compared, _mismatches, _compared == 0 ? 0 : 100.0 * _mismatches / _compared, _candidateErrors, _hashed, _skipped,
                _fields.OrderByDescending(f => f.Value.Count).Take(10).Select(f => new FieldReport(f.Key, f.Value.Count, f.Value.Example.Stable, f.Value.Example.Candidate)).ToList(),
                _noise.OrderByDescending(n => n.Value).Take(10).Select(n => new NoiseReport(n.Key, n.Value)).ToList(),
                Latency(_stableLatency), Latency(_candidateLatency));
        }
    }

    private static LatencyReport Latency(LongHistogram h) =>
        h.TotalCount == 0 ? new LatencyReport(null, null) : new LatencyReport(h.GetValueAtPercentile(50) / 1000.0, h.GetValueAtPercentile(99) / 1000.0);

    private sealed class FieldTally
    {
        public long Count { get; set; }
        public required Difference Example { get; init; }
    }
}

/// <summary>A parallel run's report: how much was compared, how much differed, where, and what was noise.</summary>
public sealed record ParallelReport(
    string Candidate,
    string Run,
    DateTimeOffset StartedAt,
    long Compared,
    long Mismatches,
    double MismatchRate,
    long CandidateErrors,
    long HashedBodies,
    long Skipped,
    IReadOnlyList<FieldReport> Fields,
    IReadOnlyList<NoiseReport> Noise,
    LatencyReport Stable,
    LatencyReport CandidateLatency);

/// <summary>A field that differed between stable and candidate: in how many compared requests, and one example pair.</summary>
public sealed record FieldReport(string Field, long Count, string Stable, string Candidate);

/// <summary>A field that differed between two stable answers (a timestamp, a generated id): not counted against the candidate.</summary>
public sealed record NoiseReport(string Field, long Count);

/// <summary>Latency percentiles in milliseconds, measured the same way for both sides (the mirrored copies).</summary>
public sealed record LatencyReport(double? P50, double? P99);
