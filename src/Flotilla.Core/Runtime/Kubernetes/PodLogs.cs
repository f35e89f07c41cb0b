using System.Globalization;
using k8s;
using k8s.Autorest;

namespace Flotilla.Runtime.Kubernetes;

/// <summary>
/// Copies what each pod prints into the log file of the instance it holds, so <c>flotilla logs</c> reads
/// a pod as it reads a local process (as <c>SwarmLogs</c> does for Swarm tasks). One follow per pod
/// (<c>GET …/pods/NAME/log?follow=true&amp;timestamps=true</c>); each line goes to the instance the pod
/// holds when the line comes, so a binding swap is followed. A follow that ends (the container exited,
/// the connection broke, the API server went away) is resumed after a pause from the last line's
/// timestamp (<c>sinceSeconds</c>, whole seconds, then lines up to the last one copied are skipped:
/// none lost, none written twice); the pause doubles from 1 s to 30 s while follows bring nothing,
/// and after <see cref="GiveUpAfter"/> quick fruitless tries in a row the pod's log is given up (said in
/// the log). A follow ends when its pod is no longer tracked (the instance stopped, the pod went).
/// </summary>
internal sealed class PodLogs(Func<IKubernetes> client, string ns, Func<string, string> logPathOfPod, TimeProvider time) : IAsyncDisposable
{
    private const int GiveUpAfter = 8;
    private static readonly TimeSpan FirstRetry = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan MaxRetry = TimeSpan.FromSeconds(30);

    /// <summary>A follow that lasted this long was healthy even if the pod said nothing (a quiet pod whose stream the server cut).</summary>
    private static readonly TimeSpan Healthy = TimeSpan.FromSeconds(10);

    private readonly Dictionary<string, Follow> _follows = new(StringComparer.Ordinal);
    private readonly List<Task> _ending = [];
    private readonly CancellationTokenSource _stopping = new();

    private sealed class Follow
    {
        public required CancellationTokenSource Stop { get; init; }
        public Task Running { get; set; } = Task.CompletedTask;
        public DateTimeOffset? Last { get; set; }
        public string? LastLine { get; set; }
    }

    /// <summary>How many pods are followed now (diagnostics and tests).</summary>
    public int Following
    {
        get
        {
            lock (_follows)
            {
                return _follows.Values.Count(f => !f.Running.IsCompleted);
            }
        }
    }

    /// <summary>
    /// Follows each of <paramref name="pods"/> not followed yet, from its value (null: from the pod's start;
    /// else from then: a pod a restarted control plane adopts, whose earlier lines were copied before);
    /// ends the follows of pods not listed.
    /// </summary>
    public void Track(IReadOnlyDictionary<string, DateTimeOffset?> pods)
    {
        lock (_follows)
        {
            foreach (var gone in _follows.Keys.Except(pods.Keys, StringComparer.Ordinal).ToList())
            {
                var follow = _follows[gone];
                follow.Stop.Cancel();
                _ending.Add(follow.Running);
                _ = follow.Running.ContinueWith(_ => follow.Stop.Dispose(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
                _follows.Remove(gone);
            }
            _ending.RemoveAll(t => t.IsCompleted);
            foreach (var (pod, since) in pods)
            {
                if (_follows.ContainsKey(pod) || _stopping.IsCancellationRequested)
                {
                    continue;
                }
                var follow = new Follow { Stop = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token), Last = since };
                follow.Running = Task.Run(() => FollowAsync(pod, follow), CancellationToken.None);
                _follows[pod] = follow;
            }
        }
    }

    private async Task FollowAsync(string pod, Follow follow)
    {
        var token = follow.Stop.Token;
        var retry = FirstRetry;
        var fruitless = 0;
        string? why = null;
        try
        {
            while (!token.IsCancellationRequested)
            {
                var began = time.GetUtcNow();
                var brought = false;
                try
                {
                    // Whole seconds, rounded up and one more: the lines up to the last copied are skipped below.
                    int? sinceSeconds = follow.Last is { } last ? (int)Math.Ceiling((time.GetUtcNow() - last).TotalSeconds) + 1 : null;
                    await using var stream = await client().CoreV1.ReadNamespacedPodLogAsync(pod, ns, follow: true, timestamps: true, sinceSeconds: sinceSeconds, cancellationToken: token);
                    using var reader = new StreamReader(stream);
                    while (await reader.ReadLineAsync(token) is { } line)
                    {
                        var (at, text) = Split(line);
                        if (at is { } stamp && follow.Last is { } copied && (stamp < copied || stamp == copied && text == follow.LastLine))
                        {
                            continue;
                        }
                        await WriteAsync(pod, text, token);
                        follow.Last = at ?? follow.Last;
                        follow.LastLine = text;
                        brought = true;
                    }
                    why = "its log ended";
                }
                catch (Exception e) when (!token.IsCancellationRequested)
                {
                    why = e is HttpOperationException http ? $"the API server answered {(int)http.Response.StatusCode} {http.Response.StatusCode}" : e.Message;
                }
                var healthy = brought || time.GetUtcNow() - began >= Healthy;
                fruitless = healthy ? 0 : fruitless + 1;
                retry = healthy ? FirstRetry : TimeSpan.FromTicks(Math.Min(MaxRetry.Ticks, retry.Ticks * 2));
                if (fruitless >= GiveUpAfter)
                {
                    await WriteAsync(pod, $"--- {time.GetUtcNow():O} flotilla: stopped copying pod {pod}'s log after {fruitless} tries that brought nothing (last: {why}); read it with kubectl logs -n {ns} {pod}", token);
                    return;
                }
                await Task.Delay(retry, time, token);
            }
        }
        catch (OperationCanceledException) when (token.IsCancellationRequested)
        {
        }
    }

    /// <summary>A line with <c>timestamps=true</c>: RFC 3339 with up to nanoseconds, a space, the text.</summary>
    internal static (DateTimeOffset? At, string Text) Split(string line)
    {
        var space = line.IndexOf(' ');
        if (space <= 0)
        {
            return (null, line);
        }
        var stamp = line[..space];
        // .NET parses at most 7 fractional digits (100 ns); Kubernetes writes up to 9.
        var dot = stamp.IndexOf('.');
        if (dot > 0 && stamp.EndsWith('Z'))
        {
            var fraction = stamp[(dot + 1)..^1];
            stamp = $"{stamp[..dot]}.{fraction[..Math.Min(7, fraction.Length)]}Z";
        }
        return DateTimeOffset.TryParse(stamp, CultureInfo.InvariantCulture, DateTimeStyles.AssumeUniversal | DateTimeStyles.AdjustToUniversal, out var at)
            ? (at, line[(space + 1)..])
            : (null, line);
    }

    private async Task WriteAsync(string pod, string text, CancellationToken token)
    {
        var path = logPathOfPod(pod);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.AppendAllTextAsync(path, text + "\n", token);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        Task[] running;
        lock (_follows)
        {
            running = [.. _follows.Values.Select(f => f.Running), .. _ending];
        }
        await Task.WhenAll(running);
        _stopping.Dispose();
    }
}
