using System.Diagnostics;
using System.Net;
using System.Net.Sockets;

namespace Flotilla.Tests.Router.HAProxy;

/// <summary>
/// One client looping on GETs to an endpoint (keep-alive, one request at a time), every outcome counted:
/// answered 2xx, connection refused, 503, other failures (a reset or a connection closed mid-request: a
/// request in flight on a process that died), and when the last failure was.
/// </summary>
internal sealed class Loop : IAsyncDisposable
{
    private readonly CancellationTokenSource _stop = new();
    private readonly HttpClient _client = new() { Timeout = TimeSpan.FromSeconds(5) };
    private Task _task = Task.CompletedTask;
    private int _ok, _refused, _unavailable, _other;
    private long _lastFailure;

    public int Ok => Volatile.Read(ref _ok);

    public static Loop Start(int port)
    {
        var loop = new Loop();
        loop._task = Task.Run(() => loop.RunAsync(port));
        return loop;
    }

    private async Task RunAsync(int port)
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                using var answer = await _client.GetAsync($"http://127.0.0.1:{port}/");
                if (answer.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref _ok);
                    continue;
                }
                Interlocked.Increment(ref answer.StatusCode == HttpStatusCode.ServiceUnavailable ? ref _unavailable : ref _other);
            }
            catch (HttpRequestException e) when (e.InnerException is SocketException { SocketErrorCode: SocketError.ConnectionRefused })
            {
                Interlocked.Increment(ref _refused);
            }
            catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
            {
                Interlocked.Increment(ref _other);
            }
            Volatile.Write(ref _lastFailure, Stopwatch.GetTimestamp());
        }
    }

    /// <summary>Stops the loop and returns its counts; the last failure in ms after <paramref name="since"/> (a Stopwatch timestamp), or 0.</summary>
    public async Task<Outcome> StopAsync(long since = 0)
    {
        await _stop.CancelAsync();
        await _task.WaitAsync(TimeSpan.FromSeconds(15));
        var last = Volatile.Read(ref _lastFailure);
        return new Outcome(_ok, _refused, _unavailable, _other, last == 0 || since == 0 ? 0 : Stopwatch.GetElapsedTime(since, last).TotalMilliseconds);
    }

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
            await _task.WaitAsync(TimeSpan.FromSeconds(15));
        }
        _client.Dispose();
        _stop.Dispose();
    }

    public sealed record Outcome(int Ok, int Refused, int Unavailable, int Other, double LastFailureMs)
    {
        public override string ToString() => $"{Ok} answered, {Refused} connections refused, {Unavailable} 503, {Other} other failures, the last failure {LastFailureMs:F0} ms after the disruption";
    }
}
