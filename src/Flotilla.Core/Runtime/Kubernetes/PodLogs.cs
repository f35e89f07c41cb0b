using System.Globalization;
using System.Text;
using k8s;
using k8s.Autorest;

namespace Flotilla.Runtime.Kubernetes;

/// <summary>
/// Copies what each pod prints into the log file of the instance it holds, so <c>flotilla logs</c> reads
/// a pod as it reads a local process (as <c>SwarmLogs</c> does for Swarm tasks). One follow per pod
/// (<c>GET …/pods/NAME/log?follow=true&amp;timestamps=true</c>); each line goes to the instance the pod
/// holds when the line comes, so a binding swap is followed. Where a pod's log was copied up to is kept
/// beside the instance's log (<see cref="PodLogPositions"/>, written after the lines are appended), so a
/// follow starts after what that log already holds of the pod: from the pod's start when it holds
/// nothing, else from that position (a pod a restarted control plane adopts). A follow that ends (the
/// container exited, the connection broke, the API server went away) is resumed the same way, after a
/// pause: <c>sinceTime</c> in whole seconds, then the lines up to the last one copied are skipped
/// (<see cref="PodLogCursor"/>): none lost, whatever the node's clock says (a repeat only after a crash
/// between append and record, or for a line stamped back). The pause
/// doubles from 1 s to 30 s while follows bring nothing, and after <see cref="GiveUpAfter"/> quick fruitless
/// tries in a row the pod's log is given up (said in the log). A follow ends when its pod is no longer
/// tracked (the instance stopped, the pod went).
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

    /// <summary>One write at a time: two pods' lines can go to one log (a pod stopping and its replacement), and each append is followed by its position.</summary>
    private readonly SemaphoreSlim _writing = new(1, 1);

    private sealed class Follow
    {
        public required CancellationTokenSource Stop { get; init; }
        public Task Running { get; set; } = Task.CompletedTask;
        public required PodLogCursor Cursor { get; init; }

        /// <summary>Whether the current try copied anything (a stream that breaks after some lines still brought them).</summary>
        public bool Brought { get; set; }
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

    /// <summary>Follows each of <paramref name="pods"/> not followed yet, from after what its instance's log holds of it; ends the follows of pods not listed.</summary>
    public void Track(IReadOnlyCollection<string> pods)
    {
        lock (_follows)
        {
            foreach (var gone in _follows.Keys.Except(pods, StringComparer.Ordinal).ToList())
            {
                var follow = _follows[gone];
                follow.Stop.Cancel();
                _ending.Add(follow.Running);
                _ = follow.Running.ContinueWith(_ => follow.Stop.Dispose(), CancellationToken.None, TaskContinuationOptions.None, TaskScheduler.Default);
                _follows.Remove(gone);
            }
            _ending.RemoveAll(t => t.IsCompleted);
            foreach (var pod in pods)
            {
                if (_follows.ContainsKey(pod) || _stopping.IsCancellationRequested)
                {
                    continue;
                }
                var follow = new Follow { Stop = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token), Cursor = new PodLogCursor(PodLogPositions.Read(logPathOfPod(pod), pod)) };
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
                follow.Brought = false;
                try
                {
                    follow.Cursor.Resume();
                    var since = follow.Cursor.Position is { } position ? PodLogSinceTime.Headers(position.SinceTime) : null;
                    using var response = await client().CoreV1.ReadNamespacedPodLogWithHttpMessagesAsync(pod, ns, follow: true, timestamps: true, customHeaders: since, cancellationToken: token);
                    await using var stream = response.Body;
                    await CopyAsync(pod, follow, stream, token);
                    why = "its log ended";
                }
                catch (Exception e) when (!token.IsCancellationRequested)
                {
                    why = e is HttpOperationException http ? $"the API server answered {(int)http.Response.StatusCode} {http.Response.StatusCode}" : e.Message;
                }
                var healthy = follow.Brought || time.GetUtcNow() - began >= Healthy;
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

    /// <summary>
    /// Copies a stream's lines a chunk at a time: the complete lines of each chunk the server sends are
    /// appended in one write, then their position is recorded beside the log. A line cut by a broken
    /// stream is left for the resumed follow to bring whole.
    /// </summary>
    private async Task CopyAsync(string pod, Follow follow, Stream stream, CancellationToken token)
    {
        var buffer = new byte[16 * 1024];
        var partial = new MemoryStream();
        int read;
        while ((read = await stream.ReadAsync(buffer, token)) > 0)
        {
            var lines = new List<string>();
            var start = 0;
            for (var i = 0; i < read; i++)
            {
                if (buffer[i] == (byte)'\n')
                {
                    partial.Write(buffer, start, i - start);
                    lines.Add(Encoding.UTF8.GetString(partial.GetBuffer(), 0, (int)partial.Length).TrimEnd('\r'));
                    partial.SetLength(0);
                    start = i + 1;
                }
            }
            partial.Write(buffer, start, read - start);
            await CopyLinesAsync(pod, follow, lines, token);
        }
        // Ended cleanly: a last line without a newline (a program that exited mid-line) is whole.
        if (partial.Length > 0)
        {
            await CopyLinesAsync(pod, follow, [Encoding.UTF8.GetString(partial.GetBuffer(), 0, (int)partial.Length)], token);
        }
    }

    private async Task CopyLinesAsync(string pod, Follow follow, IReadOnlyList<string> lines, CancellationToken token)
    {
        var cursor = follow.Cursor;
        var before = cursor.Position;
        var copied = new StringBuilder();
        foreach (var line in lines)
        {
            var (at, text) = Split(line);
            if (cursor.Take(at))
            {
                copied.Append(text).Append('\n');
            }
        }
        if (copied.Length == 0)
        {
            return;
        }
        try
        {
            await _writing.WaitAsync(token);
        }
        catch
        {
            cursor.Rewind(before);
            throw;
        }
        try
        {
            var path = logPathOfPod(pod);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            // Not cancellable past this point: what is appended is recorded, else the next follow copies it again.
            await File.AppendAllTextAsync(path, copied.ToString(), CancellationToken.None);
            if (cursor.Position is { } position)
            {
                PodLogPositions.Write(path, pod, position);
            }
            follow.Brought = true;
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            // Not written, or not recorded: the resumed follow brings these lines again (recorded but not written would lose them).
            cursor.Rewind(before);
            throw;
        }
        finally
        {
            _writing.Release();
        }
    }

    /// <summary>A line of Flotilla's own, under the same lock as the copied chunks, so it never lands inside one of another pod's.</summary>
    private async Task WriteAsync(string pod, string text, CancellationToken token)
    {
        await _writing.WaitAsync(token);
        try
        {
            var path = logPathOfPod(pod);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            await File.AppendAllTextAsync(path, text + "\n", token);
        }
        finally
        {
            _writing.Release();
        }
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
