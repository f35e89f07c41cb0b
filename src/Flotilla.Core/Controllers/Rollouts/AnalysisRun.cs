using System.Net.Http.Json;
using Flotilla.Model;
using Flotilla.Router.Metrics;

namespace Flotilla.Controllers.Rollouts;

/// <summary>How an analysis stands: still measuring, or its verdict.</summary>
public enum AnalysisPhase
{
    Running,
    Successful,
    Failed,
    Inconclusive,
}

/// <summary>One measurement: its verdict, what the new and the stable revision did over the interval, and why.</summary>
public sealed record Measurement(DateTimeOffset At, AnalysisPhase Verdict, WindowSummary Canary, WindowSummary? Stable, IReadOnlyList<string> Reasons);

/// <summary>An analysis as status shows it.</summary>
public sealed record AnalysisReport(string Name, AnalysisPhase Phase, IReadOnlyList<Measurement> Measurements, string? Reason);

/// <summary>
/// One run of an <see cref="AnalysisSpec"/>: it sums the router's intervals for the new and the
/// stable revision, and every <c>interval</c> judges what it summed. It never judges on too
/// little data: fewer than <c>minRequests</c> requests to the new revision make a measurement
/// inconclusive. More than <c>failureLimit</c> failed measurements fail the run at once.
/// </summary>
public sealed class AnalysisRun(string name, AnalysisSpec spec, string service, string canary, string stable, DateTimeOffset startedAt)
{
    private static readonly HttpClient Webhooks = new();
    private readonly List<Measurement> _measurements = [];
    private MetricsWindow _canary = new();
    private MetricsWindow _stable = new();
    private DateTimeOffset _intervalStart = startedAt;

    /// <summary>What the canary is compared with, in words: the stable set, or a baseline started for this analysis.</summary>
    private readonly string _against = stable.EndsWith("-baseline", StringComparison.Ordinal) ? "the baseline" : "stable";

    public AnalysisPhase Phase { get; private set; } = AnalysisPhase.Running;
    public string? Reason { get; private set; }

    /// <summary>A copy for status, which reads while the rollout loop measures.</summary>
    public AnalysisReport Report()
    {
        lock (_measurements)
        {
            return new(name, Phase, [.. _measurements], Reason);
        }
    }

    public void Add(IEnumerable<RevisionInterval> intervals)
    {
        foreach (var interval in intervals.Where(i => i.Service == service))
        {
            if (interval.Revision == canary)
            {
                _canary.Add(interval);
            }
            else if (interval.Revision == stable)
            {
                _stable.Add(interval);
            }
        }
    }

    /// <summary>Takes a measurement when an interval is over; returns the phase after it.</summary>
    public async Task<AnalysisPhase> TickAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        if (Phase != AnalysisPhase.Running || now - _intervalStart < spec.Interval)
        {
            return Phase;
        }
        var measurement = await MeasureAsync(now, cancellationToken);
        lock (_measurements)
        {
            _measurements.Add(measurement);
        }
        (_canary, _stable, _intervalStart) = (new MetricsWindow(), new MetricsWindow(), now);
        var failed = _measurements.Count(m => m.Verdict == AnalysisPhase.Failed);
        if (failed > spec.FailureLimit)
        {
            (Phase, Reason) = (AnalysisPhase.Failed, $"{name}: {failed} of {_measurements.Count} measurements failed (failureLimit {spec.FailureLimit}); last: {string.Join("; ", measurement.Reasons)}");
        }
        else if (_measurements.Count >= spec.Count)
        {
            var inconclusive = _measurements.LastOrDefault(m => m.Verdict == AnalysisPhase.Inconclusive);
            (Phase, Reason) = inconclusive is null
                ? (AnalysisPhase.Successful, null)
                : (AnalysisPhase.Inconclusive, $"{name} inconclusive: {string.Join("; ", inconclusive.Reasons)}");
        }
        return Phase;
    }

    private async Task<Measurement> MeasureAsync(DateTimeOffset now, CancellationToken cancellationToken)
    {
        var failures = new List<string>();
        var inconclusive = new List<string>();
        if (spec.NeedsTraffic)
        {
            Judge(failures, inconclusive);
        }
        foreach (var hook in spec.Webhooks)
        {
            if (await CallAsync(hook, cancellationToken) is { } problem)
            {
                failures.Add(problem);
            }
        }
        var verdict = failures.Count > 0 ? AnalysisPhase.Failed : inconclusive.Count > 0 ? AnalysisPhase.Inconclusive : AnalysisPhase.Successful;
        return new Measurement(now, verdict, _canary.Summary(), _stable.Requests > 0 ? _stable.Summary() : null,
            failures.Count > 0 ? failures : inconclusive.Count > 0 ? inconclusive : ["all checks passed"]);
    }

    private void Judge(List<string> failures, List<string> inconclusive)
    {
        if (_canary.Requests < spec.MinRequests)
        {
            inconclusive.Add($"{_canary.Requests} requests reached revision {canary} in the interval, fewer than minRequests {spec.MinRequests}");
            return;
        }
        Check(spec.SuccessRate, _canary.SuccessRate!.Value, "success rate", "%", failures);
        Check(spec.P50, _canary.Percentile(50)!.Value, "p50", "ms", failures);
        Check(spec.P95, _canary.Percentile(95)!.Value, "p95", "ms", failures);
        Check(spec.P99, _canary.Percentile(99)!.Value, "p99", "ms", failures);
        if (spec.Compare is not { } compare)
        {
            return;
        }
        if (_stable.Requests < spec.MinRequests)
        {
            inconclusive.Add($"{_stable.Requests} requests reached {_against} ({stable}), fewer than minRequests {spec.MinRequests} to compare with");
            return;
        }
        var (canaryP95, stableP95) = (_canary.Percentile(95)!.Value, _stable.Percentile(95)!.Value);
        // 1 ms of slack: a relative limit on sub-millisecond latencies would judge noise.
        if (compare.P95IncreasePercent is { } increase && canaryP95 > stableP95 * (1 + increase / 100) + 1)
        {
            failures.Add($"p95 {canaryP95:0.##} ms is more than {increase}% above {_against}'s {stableP95:0.##} ms");
        }
        var (canaryRate, stableRate) = (_canary.SuccessRate!.Value, _stable.SuccessRate!.Value);
        if (compare.SuccessRateDrop is { } drop && canaryRate < stableRate - drop)
        {
            failures.Add($"success rate {canaryRate:0.##}% is more than {drop} points below {_against}'s {stableRate:0.##}%");
        }
        if (compare.RankTestAlpha is { } alpha)
        {
            var p = MannWhitney.PValueGreater(_canary.Latency, _stable.Latency);
            var (canaryP50, stableP50) = (_canary.Percentile(50)!.Value, _stable.Percentile(50)!.Value);
            // Significant and material: with thousands of samples a 2% shift is significant but harmless.
            if (p < alpha && canaryP50 > Math.Max(stableP50 * 1.1, stableP50 + 1))
            {
                failures.Add($"latency is higher than {_against}'s (Mann-Whitney p = {p:0.####} < {alpha}; p50 {canaryP50:0.##} ms vs {stableP50:0.##} ms)");
            }
        }
    }

    private static void Check(Threshold? threshold, double measured, string what, string unit, List<string> failures)
    {
        if (threshold is not null && !threshold.Passes(measured))
        {
            failures.Add($"{what} {measured:0.##}{(unit == "%" ? "%" : " ms")} is not {threshold.Text}");
        }
    }

    private async Task<string?> CallAsync(WebhookSpec hook, CancellationToken cancellationToken)
    {
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(hook.Timeout);
        try
        {
            using var response = await Webhooks.PostAsJsonAsync(hook.Url, new { service, revision = canary, stable, analysis = name }, timeout.Token);
            return response.IsSuccessStatusCode ? null : $"webhook {hook.Url} answered {(int)response.StatusCode}";
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return $"webhook {hook.Url} failed: {(e is OperationCanceledException ? $"no answer within {Quantities.Format(hook.Timeout)}" : e.Message)}";
        }
    }
}
