using System.Globalization;
using System.Text;

namespace Flotilla.Router.HAProxy;

/// <summary>
/// Requests per service and revision by status class, from HAProxy's per-server counters: each
/// read adds what every server answered since the previous read to its revision (a worker
/// replaced by a reload starts again from zero). No latency: HAProxy 2.6 keeps averages only.
/// </summary>
internal sealed class RevisionCounts
{
    private readonly Dictionary<(string Backend, string Server), long[]> _seen = new();
    private readonly Dictionary<(string Backend, string Server), (string Service, string Revision)> _owners = new();
    private readonly Dictionary<(string Service, string Revision), long[]> _interval = new();
    private readonly Dictionary<(string Service, string Revision), long[]> _cumulative = new();
    private readonly Lock _gate = new();

    /// <summary>The revision a server's answers count for.</summary>
    public void Own(string backend, string server, string service, string revision)
    {
        lock (_gate)
        {
            _owners[(backend, server)] = (service, revision);
        }
    }

    /// <summary>Adds what each server answered since the last read.</summary>
    public void Add(IReadOnlyDictionary<(string Backend, string Server), ServerStats> stats)
    {
        lock (_gate)
        {
            foreach (var (key, now) in stats)
            {
                if (!_owners.TryGetValue(key, out var owner))
                {
                    continue;
                }
                var seen = _seen.GetValueOrDefault(key) ?? new long[5];
                var interval = Slot(_interval, owner);
                var cumulative = Slot(_cumulative, owner);
                for (var i = 0; i < 5; i++)
                {
                    // Fewer than seen: a new worker counts from zero.
                    var delta = now.Classes[i] >= seen[i] ? now.Classes[i] - seen[i] : now.Classes[i];
                    interval[i] += delta;
                    cumulative[i] += delta;
                }
                _seen[key] = now.Classes;
            }
        }
    }

    /// <summary>A new worker (a reload): its counters start from zero.</summary>
    public void Restarted()
    {
        lock (_gate)
        {
            _seen.Clear();
        }
    }

    public IReadOnlyList<Metrics.RevisionInterval> Take()
    {
        lock (_gate)
        {
            var taken = _interval.Select(e => new Metrics.RevisionInterval(e.Key.Service, e.Key.Revision, e.Value,
                new HdrHistogram.LongHistogram(1, 600_000_000, 2))).ToList();
            _interval.Clear();
            return taken;
        }
    }

    public string Prometheus()
    {
        var text = new StringBuilder();
        text.Append("# HELP flotilla_requests_total Requests the router proxied, by service, revision and status class.\n");
        text.Append("# TYPE flotilla_requests_total counter\n");
        lock (_gate)
        {
            foreach (var ((service, revision), classes) in _cumulative.OrderBy(e => e.Key.Service, StringComparer.Ordinal).ThenBy(e => e.Key.Revision, StringComparer.Ordinal))
            {
                for (var i = 0; i < classes.Length; i++)
                {
                    text.Append(CultureInfo.InvariantCulture, $"flotilla_requests_total{{service=\"{service}\",revision=\"{revision}\",code=\"{i + 1}xx\"}} {classes[i]}\n");
                }
            }
        }
        text.Append("# flotilla_request_duration_seconds: not measured by the haproxy router engine (HAProxy 2.6 keeps averages only)\n");
        return text.ToString();
    }

    private static long[] Slot(Dictionary<(string, string), long[]> map, (string, string) key)
    {
        if (!map.TryGetValue(key, out var slot))
        {
            map[key] = slot = new long[5];
        }
        return slot;
    }
}
