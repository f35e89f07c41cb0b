using System.Collections.Concurrent;
using System.Globalization;
using System.Text;

namespace Flotilla.Router.Metrics;

/// <summary>
/// The router's request metrics, one <see cref="RevisionMetrics"/> per service and revision,
/// rendered in Prometheus' text format and handed to the control plane interval by interval.
/// </summary>
internal sealed class RouterMetrics
{
    private static readonly TimeSpan KeepIdle = TimeSpan.FromMinutes(15);
    private readonly ConcurrentDictionary<(string Service, string Revision), RevisionMetrics> _byRevision = new();

    public RevisionMetrics For(string service, string revision) =>
        _byRevision.GetOrAdd((service, revision), key => new RevisionMetrics(key.Service, key.Revision));

    /// <summary>Drops revisions no longer routed that served nothing for a while, so old revisions do not pile up.</summary>
    public void Prune(IReadOnlySet<(string Service, string Revision)> routed)
    {
        var idleSince = Environment.TickCount64 - (long)KeepIdle.TotalMilliseconds;
        foreach (var (key, metrics) in _byRevision)
        {
            if (!routed.Contains(key) && metrics.LastRequestTicks < idleSince)
            {
                _byRevision.TryRemove(key, out _);
            }
        }
    }

    public IReadOnlyList<RevisionInterval> TakeIntervals() => _byRevision.Values.Select(m => m.TakeInterval()).ToList();

    public string Prometheus()
    {
        var text = new StringBuilder();
        var all = _byRevision.Values.OrderBy(m => m.Service, StringComparer.Ordinal).ThenBy(m => m.Revision, StringComparer.Ordinal)
            .Select(m => (m, data: m.Cumulative())).ToList();
        text.Append("# HELP flotilla_requests_total Requests the router proxied, by service, revision and status class.\n");
        text.Append("# TYPE flotilla_requests_total counter\n");
        foreach (var (m, data) in all)
        {
            for (var i = 0; i < data.Classes.Length; i++)
            {
                text.Append(CultureInfo.InvariantCulture, $"flotilla_requests_total{{{Labels(m)},code=\"{i + 1}xx\"}} {data.Classes[i]}\n");
            }
        }
        text.Append("# HELP flotilla_request_duration_seconds Time from the router receiving a request to the instance's response headers.\n");
        text.Append("# TYPE flotilla_request_duration_seconds histogram\n");
        foreach (var (m, data) in all)
        {
            long cumulative = 0;
            for (var i = 0; i < data.Buckets.Length; i++)
            {
                cumulative += data.Buckets[i];
                var le = i < RevisionMetrics.Buckets.Length ? RevisionMetrics.Buckets[i].ToString(CultureInfo.InvariantCulture) : "+Inf";
                text.Append(CultureInfo.InvariantCulture, $"flotilla_request_duration_seconds_bucket{{{Labels(m)},le=\"{le}\"}} {cumulative}\n");
            }
            text.Append(CultureInfo.InvariantCulture, $"flotilla_request_duration_seconds_sum{{{Labels(m)}}} {data.SumMicros / 1_000_000.0}\n");
            text.Append(CultureInfo.InvariantCulture, $"flotilla_request_duration_seconds_count{{{Labels(m)}}} {cumulative}\n");
        }
        return text.ToString();
    }

    // Service names and revisions are [a-z0-9-]: nothing to escape in a label value.
    private static string Labels(RevisionMetrics m) => $"service=\"{m.Service}\",revision=\"{m.Revision}\"";
}
