namespace Flotilla.Tests.Support;

/// <summary>
/// Steady GET load from a few concurrent loops, counting every request that did not get a 2xx.
/// Bounded: it stops when asked or after five minutes.
/// </summary>
public sealed class LoadClient : IDisposable
{
    private readonly HttpClient _client = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromMinutes(5));
    private readonly Task[] _loops;
    private int _ok;
    private int _failed;
    private readonly List<string> _failures = [];

    public LoadClient(string url, int concurrency)
    {
        _loops = Enumerable.Range(0, concurrency).Select(_ => Task.Run(() => LoopAsync(url))).ToArray();
    }

    private async Task LoopAsync(string url)
    {
        while (!_stop.IsCancellationRequested)
        {
            try
            {
                using var response = await _client.GetAsync(url, _stop.Token);
                if (response.IsSuccessStatusCode)
                {
                    Interlocked.Increment(ref _ok);
                }
                else
                {
                    Fail($"{(int)response.StatusCode} {await response.Content.ReadAsStringAsync()}");
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (HttpRequestException e)
            {
                Fail(e.Message);
            }
        }
    }

    private void Fail(string why)
    {
        Interlocked.Increment(ref _failed);
        lock (_failures)
        {
            _failures.Add(why);
        }
    }

    /// <summary>Waits until <paramref name="more"/> more requests than now have succeeded (traffic really flows).</summary>
    public Task WaitForOkAsync(int more, TimeSpan timeout)
    {
        var target = Volatile.Read(ref _ok) + more;
        return Eventually.Until(() => Volatile.Read(ref _ok) >= target, timeout, $"{more} more successful requests");
    }

    public async Task<(int Ok, int Failed, IReadOnlyList<string> Failures)> StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
        return (_ok, _failed, _failures);
    }

    public void Dispose()
    {
        _stop.Cancel();
        _client.Dispose();
        _stop.Dispose();
    }
}
