using System.Globalization;

namespace Flotilla.Model;

/// <summary>How a service moves to a new revision.</summary>
public enum RolloutStrategy
{
    /// <summary>Replace instances a few at a time (Kubernetes' RollingUpdate).</summary>
    Rolling,

    /// <summary>Run the new revision beside the stable one and move traffic to it in steps.</summary>
    Canary,

    /// <summary>Start the new revision at full size with no traffic, then switch all traffic at once.</summary>
    BlueGreen,

    /// <summary>Mirror live requests to the new revision, compare its answers with stable's, and promote or abort on the mismatch rate.</summary>
    Parallel,
}

/// <summary>
/// One step of a canary: set the canary's share of traffic, pause (for a time, or until
/// promoted), run an analysis, or run a parallel run (requests mirrored to the canary and
/// compared). Exactly one is set.
/// </summary>
public sealed record CanaryStep(int? Weight = null, PauseSpec? Pause = null, AnalysisSpec? Analysis = null, ParallelSpec? Parallel = null)
{
    public override string ToString() =>
        Weight is { } w ? $"weight {w}%"
        : Pause is { } p ? (p.Duration is { } d ? $"pause {Quantities.Format(d)}" : "pause until promoted")
        : Parallel is not null ? "parallel run"
        : "analysis";
}

/// <summary>A pause step: <see cref="Duration"/> null waits for <c>rollout promote</c>.</summary>
public sealed record PauseSpec(TimeSpan? Duration);

/// <summary>Chosen users always reach the canary: a header or a cookie with a value (any value when null).</summary>
public sealed record TrafficMatch(string? Header, string? Cookie, string? Value)
{
    public override string ToString() => $"{(Header is not null ? $"header {Header}" : $"cookie {Cookie}")}{(Value is null ? "" : $" = {Value}")}";
}

/// <summary>
/// A judgement of the new revision on live router metrics: every <see cref="Interval"/> one
/// measurement, <see cref="Count"/> of them; more than <see cref="FailureLimit"/> failed ones fail
/// it. A measurement with fewer than <see cref="MinRequests"/> requests to the new revision is
/// inconclusive, and an inconclusive analysis pauses the rollout rather than promote it.
/// </summary>
public sealed record AnalysisSpec
{
    public TimeSpan Interval { get; init; } = TimeSpan.FromSeconds(10);
    public int Count { get; init; } = 1;
    public int FailureLimit { get; init; }
    public int MinRequests { get; init; } = 50;
    public Threshold? SuccessRate { get; init; }
    public Threshold? P50 { get; init; }
    public Threshold? P95 { get; init; }
    public Threshold? P99 { get; init; }
    public CompareSpec? Compare { get; init; }
    public IReadOnlyList<WebhookSpec> Webhooks { get; init; } = [];

    /// <summary>Compare with fresh instances of the stable revision started for this analysis (as Kayenta recommends), not the long-running stable set.</summary>
    public bool Baseline { get; init; }

    /// <summary>True when a measurement needs requests to reach the new revision (anything but webhooks).</summary>
    public bool NeedsTraffic => SuccessRate is not null || P50 is not null || P95 is not null || P99 is not null || Compare is not null;
}

/// <summary>The new revision against the stable one in the same interval.</summary>
public sealed record CompareSpec(double? P95IncreasePercent, double? SuccessRateDrop, double? RankTestAlpha);

/// <summary>An HTTP check that must answer 2xx (Flagger's webhooks): POSTed the rollout as JSON.</summary>
public sealed record WebhookSpec(string Url, TimeSpan Timeout);

/// <summary>A comparison with a fixed number: success rate in percent, latency in milliseconds.</summary>
public sealed record Threshold(string Operator, double Value, string Text)
{
    public bool Passes(double measured) => Operator switch
    {
        ">=" => measured >= Value,
        ">" => measured > Value,
        "<=" => measured <= Value,
        _ => measured < Value,
    };

    /// <summary>Parses <c>"&gt;= 99%"</c> (percent) or <c>"&lt; 300ms"</c> (a duration, in ms); null and an error text when it is neither.</summary>
    public static Threshold? Parse(string text, bool percent, out string? error)
    {
        error = null;
        var trimmed = text.Trim();
        var op = new[] { ">=", "<=", ">", "<" }.FirstOrDefault(o => trimmed.StartsWith(o, StringComparison.Ordinal));
        var rest = op is null ? "" : trimmed[op.Length..].Trim();
        if (percent && op is not null && rest.EndsWith('%')
            && double.TryParse(rest[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var rate) && rate is >= 0 and <= 100)
        {
            return new Threshold(op, rate, trimmed);
        }
        if (!percent && op is "<" or "<=" && Quantities.TryParseDuration(rest, out var limit) && limit > TimeSpan.Zero)
        {
            return new Threshold(op, limit.TotalMilliseconds, trimmed);
        }
        error = percent ? $"must be a comparison with a percentage such as \">= 99%\", got '{text}'" : $"must be an upper bound such as \"< 300ms\", got '{text}'";
        return null;
    }
}

/// <summary>
/// A parallel run: the candidate gets a copy of sampled requests and only its answers are
/// compared; the stable revision answers every client. After <see cref="Duration"/> (or
/// <see cref="Requests"/> comparisons) the mismatch rate decides: at most
/// <see cref="MaxMismatchRate"/> percent promotes, more aborts, fewer than
/// <see cref="MinRequests"/> comparisons is inconclusive and pauses.
/// </summary>
public sealed record ParallelSpec
{
    public static readonly string[] SafeMethods = ["GET", "HEAD", "OPTIONS"];

    public double Sample { get; init; } = 100;
    public IReadOnlyList<string> Methods { get; init; } = SafeMethods;
    public bool MirrorWrites { get; init; }
    public TimeSpan Duration { get; init; } = TimeSpan.FromSeconds(60);
    public int? Requests { get; init; }
    public int MinRequests { get; init; } = 50;
    public double MaxMismatchRate { get; init; } = 1;
    public IReadOnlyList<string> Headers { get; init; } = [];
    public IReadOnlyList<string> Ignore { get; init; } = [];
    public bool ArraysAsSets { get; init; }
    public int MaxBodyBytes { get; init; } = 64 * 1024;
    public bool AutoPromote { get; init; } = true;
}
