using System.Threading.Channels;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Http;

namespace Flotilla.Tests.Kubernetes;

/// <summary>The fake API server's pod logs: what each pod's container printed, as the kubelet keeps and serves it.</summary>
internal sealed partial class FakeApiServer
{
    private readonly Dictionary<string, List<(DateTime At, string Line)>> _podLogs = new(StringComparer.Ordinal);
    private readonly List<LogFollower> _logFollowers = [];
    private DateTime _lastLogLine;

    /// <summary>How many pod log streams are open now.</summary>
    public int OpenLogStreams
    {
        get
        {
            lock (_gate)
            {
                return _logFollowers.Count;
            }
        }
    }

    /// <summary>
    /// How far the node's clock is from this machine's (negative: behind), and whether it ticks in whole
    /// seconds (then a burst of lines shares one stamp). The kubelet stamps lines and counts
    /// <c>sinceSeconds</c> back from now by the node's clock.
    /// </summary>
    public TimeSpan NodeClockOffset { get; set; }

    public bool CoarseNodeClock { get; set; }

    private DateTime NodeNow => DateTime.UtcNow + NodeClockOffset;

    private bool _logsStalled;

    /// <summary>The pod's container prints a line (kept, and sent to every open follow of the pod's log unless they are stalled).</summary>
    public void PushLog(string pod, string line)
    {
        lock (_gate)
        {
            // Growing times, as the kubelet's: distinct (nanoseconds there), or shared within a second on a coarse clock.
            var at = NodeNow;
            if (CoarseNodeClock)
            {
                at = new DateTime(Math.Max(at.Ticks - at.Ticks % TimeSpan.TicksPerSecond, _lastLogLine.Ticks), DateTimeKind.Utc);
            }
            else if (at <= _lastLogLine)
            {
                at = _lastLogLine.AddTicks(1);
            }
            _lastLogLine = at;
            (_podLogs.TryGetValue(pod, out var lines) ? lines : _podLogs[pod] = []).Add((at, line));
            if (!_logsStalled)
            {
                Deliver(pod);
            }
        }
    }

    /// <summary>
    /// Open log streams lag (stalled): what pods print is kept but not sent yet, as when the kubelet or
    /// the connection is slow; unstalled, each open stream gets what it missed, in order.
    /// </summary>
    public void StallLogs(bool stalled)
    {
        lock (_gate)
        {
            _logsStalled = stalled;
            if (!stalled)
            {
                foreach (var pod in _logFollowers.Select(f => f.Pod).Distinct().ToList())
                {
                    Deliver(pod);
                }
            }
        }
    }

    /// <summary>Sends each open follow of <paramref name="pod"/>'s log the lines it has not had.</summary>
    private void Deliver(string pod)
    {
        var lines = _podLogs.GetValueOrDefault(pod) ?? [];
        foreach (var follower in _logFollowers.Where(f => f.Pod == pod))
        {
            for (; follower.Sent < lines.Count; follower.Sent++)
            {
                follower.Lines.Writer.TryWrite(LogLine(lines[follower.Sent].At, lines[follower.Sent].Line, follower.Timestamps));
            }
        }
    }

    /// <summary>What the pod printed, with the node's stamps.</summary>
    public IReadOnlyList<(DateTime At, string Line)> PodLog(string pod)
    {
        lock (_gate)
        {
            return (_podLogs.GetValueOrDefault(pod) ?? []).ToList();
        }
    }

    /// <summary>Cuts every open log stream (the connection breaks; the lines stay in the pods' logs).</summary>
    public void BreakLogs()
    {
        lock (_gate)
        {
            foreach (var follower in _logFollowers)
            {
                follower.Lines.Writer.TryComplete(new IOException("cut"));
            }
        }
    }

    /// <summary>The pod is gone: its log streams end (EOF).</summary>
    private void EndLogs(string pod)
    {
        foreach (var follower in _logFollowers.Where(f => f.Pod == pod))
        {
            follower.Lines.Writer.TryComplete();
        }
    }

    /// <summary>
    /// GET …/pods/NAME/log: the lines since <c>sinceSeconds</c> ago by the node's clock, or since
    /// <c>sinceTime</c> (RFC 3339, kept to whole seconds as the API server passes it on to the kubelet,
    /// which compares it with the lines' stamps), or all; then, with follow, each new one until the pod
    /// goes. Both parameters at once are refused (422), as the API server validates.
    /// </summary>
    private async Task PodLogAsync(HttpContext context, string pod)
    {
        var query = context.Request.Query;
        var timestamps = query["timestamps"] == "true";
        int? sinceSeconds = int.TryParse(query["sinceSeconds"], out var seconds) ? seconds : null;
        DateTime? sinceTime = null;
        if (query["sinceTime"].ToString() is { Length: > 0 } given)
        {
            if (!DateTimeOffset.TryParse(given, System.Globalization.CultureInfo.InvariantCulture, System.Globalization.DateTimeStyles.AdjustToUniversal, out var parsed) || !given.EndsWith('Z'))
            {
                await AnswerAsync(context, 400, Status(400, $"parsing time \"{given}\" as RFC 3339 failed"));
                return;
            }
            sinceTime = new DateTime(parsed.UtcTicks - parsed.UtcTicks % TimeSpan.TicksPerSecond, DateTimeKind.Utc);
        }
        if (sinceSeconds is not null && sinceTime is not null)
        {
            await AnswerAsync(context, 422, Status(422, "PodLogOptions is invalid: at most one of `sinceTime` or `sinceSeconds` may be specified"));
            return;
        }
        var follower = new LogFollower(pod, timestamps, Channel.CreateUnbounded<string>());
        bool found;
        lock (_gate)
        {
            found = _pods.ContainsKey(pod);
            var from = sinceSeconds is { } back ? NodeNow.AddSeconds(-back) : sinceTime ?? DateTime.MinValue;
            var lines = _podLogs.GetValueOrDefault(pod) ?? [];
            foreach (var (at, line) in lines)
            {
                if (at >= from)
                {
                    follower.Lines.Writer.TryWrite(LogLine(at, line, timestamps));
                }
            }
            follower.Sent = lines.Count;
            if (query["follow"] == "true" && found)
            {
                _logFollowers.Add(follower);
            }
            else
            {
                follower.Lines.Writer.TryComplete();
            }
        }
        if (!found)
        {
            await AnswerAsync(context, 404, Status(404, $"pods \"{pod}\" not found"));
            return;
        }
        context.Response.ContentType = "text/plain";
        await context.Response.StartAsync();
        await StreamAsync(context, follower.Lines.Reader, "", context.RequestAborted, () => _logFollowers.Remove(follower));
    }

    private static string LogLine(DateTime at, string line, bool timestamps) =>
        (timestamps ? at.ToString("yyyy-MM-dd'T'HH:mm:ss.fffffff'00Z'", System.Globalization.CultureInfo.InvariantCulture) + " " : "") + line + "\n";

    private sealed record LogFollower(string Pod, bool Timestamps, Channel<string> Lines)
    {
        /// <summary>How many of the pod's lines this stream has been given (or skipped, before its start).</summary>
        public int Sent { get; set; }
    }
}
