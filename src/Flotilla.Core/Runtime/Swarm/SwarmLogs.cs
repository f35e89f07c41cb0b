using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Flotilla.Runtime.Swarm;

/// <summary>
/// Copies what the tasks of each revision's Swarm service print into their instances' log files, so
/// <c>flotilla logs</c> reads a task on any node as it reads a local process. One follow of the service's
/// logs per Swarm service (the manager gathers them from the nodes); each line names its task, and the
/// task its instance. A follow that ends while the service is still there is taken up again from when
/// the last line came (a line may then be written twice, never lost).
/// </summary>
internal sealed class SwarmLogs(Func<string, string?> logPathOfTask, Func<string, string> revisionLogPath, TimeProvider time) : IAsyncDisposable
{
    private readonly Dictionary<string, Follow> _follows = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _stopping = new();
    private readonly System.Collections.Concurrent.ConcurrentDictionary<string, byte> _waitedFor = new(StringComparer.Ordinal);

    private sealed class Follow
    {
        public required Task Running { get; set; }
        public required CancellationTokenSource Stop { get; init; }
        public DateTimeOffset Since { get; set; }
    }

    /// <summary>Follows each of <paramref name="services"/> not followed yet (or whose follow ended); stops following the others.</summary>
    public void Track(DockerClient client, IReadOnlyCollection<string> services)
    {
        lock (_follows)
        {
            foreach (var gone in _follows.Keys.Except(services, StringComparer.Ordinal).ToList())
            {
                _follows[gone].Stop.Cancel();
                _follows.Remove(gone);
            }
            foreach (var service in services)
            {
                if (_follows.TryGetValue(service, out var follow) && !follow.Running.IsCompleted)
                {
                    continue;
                }
                var since = follow?.Since ?? time.GetUtcNow() - TimeSpan.FromSeconds(1);
                var next = new Follow { Running = Task.CompletedTask, Stop = CancellationTokenSource.CreateLinkedTokenSource(_stopping.Token), Since = since };
                next.Running = Task.Run(() => CopyAsync(client, service, next), CancellationToken.None);
                _follows[service] = next;
            }
        }
    }

    private async Task CopyAsync(DockerClient client, string service, Follow follow)
    {
        var token = follow.Stop.Token;
        try
        {
            using var stream = await client.Swarm.GetServiceLogsAsync(service, false, new ServiceLogsParameters
            {
                ShowStdout = true,
                ShowStderr = true,
                Follow = true,
                Details = true,
                Since = follow.Since.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            }, token);
            var buffer = new byte[16 * 1024];
            var pending = new Dictionary<MultiplexedStream.TargetStream, StringBuilder>();
            while (true)
            {
                var read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, token);
                if (read.EOF)
                {
                    return;
                }
                follow.Since = time.GetUtcNow();
                var text = pending.TryGetValue(read.Target, out var partial) ? partial : pending[read.Target] = new StringBuilder();
                text.Append(Encoding.UTF8.GetString(buffer, 0, read.Count));
                var all = text.ToString();
                var end = all.LastIndexOf('\n');
                if (end < 0)
                {
                    continue;
                }
                text.Clear().Append(all, end + 1, all.Length - end - 1);
                foreach (var line in all[..end].Split('\n'))
                {
                    await WriteAsync(service, line, token);
                }
            }
        }
        catch (Exception e) when (e is OperationCanceledException or DockerApiException or IOException or HttpRequestException)
        {
            // The service is gone, the manager went away, or the driver stops: the next look takes it up again if need be.
        }
    }

    /// <summary>A line of the service's logs with details: <c>com.docker.swarm.node.id=…,com.docker.swarm.service.id=…,com.docker.swarm.task.id=… message</c>.</summary>
    private async Task WriteAsync(string service, string line, CancellationToken token)
    {
        var space = line.IndexOf(' ');
        var details = space < 0 ? line : line[..space];
        var message = space < 0 ? "" : line[(space + 1)..];
        var task = details.Split(',').Select(d => d.Split('=', 2)).FirstOrDefault(kv => kv.Length == 2 && kv[0] == "com.docker.swarm.task.id")?[1];
        var path = task is null ? null : logPathOfTask(task);
        if (path is null && task is not null && _waitedFor.TryAdd(task, 0))
        {
            // A new task can print before the next look at the swarm binds it to an instance: wait for it once.
            await Task.Delay(TimeSpan.FromMilliseconds(600), time, token);
            path = logPathOfTask(task);
        }
        path ??= revisionLogPath(service);
        Directory.CreateDirectory(Path.GetDirectoryName(path)!);
        await File.AppendAllTextAsync(path, message + "\n", token);
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        Task[] running;
        lock (_follows)
        {
            running = _follows.Values.Select(f => f.Running).ToArray();
        }
        await Task.WhenAll(running);
        _stopping.Dispose();
    }
}
