using System.Text.Json.Nodes;

namespace Flotilla.Tests.Support;

/// <summary>GETs in a loop, recording the version each answer came from, and every failure.</summary>
public sealed class VersionClient : IDisposable
{
    // No cookie jar: every request is a new user to the router, so a canary split shows as a share of requests.
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseCookies = false }) { Timeout = TimeSpan.FromSeconds(10) };
    private readonly CancellationTokenSource _stop = new(TimeSpan.FromMinutes(3));
    private readonly List<string> _versions = [];
    private readonly List<string> _failures = [];
    private readonly Task[] _loops;

    public VersionClient(string url, int loops = 4)
        : this(_ => url, loops)
    {
    }

    /// <param name="url">The URL of each loop's n-th request.</param>
    public VersionClient(Func<int, string> url, int loops = 4) => _loops = Enumerable.Range(0, loops).Select(_ => Task.Run(() => LoopAsync(url))).ToArray();

    /// <summary>What it saw so far, without stopping.</summary>
    public (IReadOnlyList<string> Versions, IReadOnlyList<string> Failures) Seen()
    {
        lock (_versions)
        {
            return (_versions.ToList(), _failures.ToList());
        }
    }

    private async Task LoopAsync(Func<int, string> url)
    {
        for (var n = 0; !_stop.IsCancellationRequested; n++)
        {
            try
            {
                using var response = await _client.GetAsync(url(n), _stop.Token);
                var body = await response.Content.ReadAsStringAsync(_stop.Token);
                lock (_versions)
                {
                    (response.IsSuccessStatusCode ? _versions : _failures).Add(response.IsSuccessStatusCode ? (string)JsonNode.Parse(body)!["version"]! : $"{(int)response.StatusCode} {body}");
                }
            }
            catch (OperationCanceledException) when (_stop.IsCancellationRequested)
            {
                return;
            }
            catch (OperationCanceledException e) when (e.InnerException is TimeoutException)
            {
                lock (_versions)
                {
                    _failures.Add($"no answer within {_client.Timeout.TotalSeconds} s");
                }
            }
            catch (HttpRequestException e)
            {
                lock (_versions)
                {
                    _failures.Add(e.Message);
                }
            }
        }
    }

    public async Task<(IReadOnlyList<string> Versions, IReadOnlyList<string> Failures)> StopAsync()
    {
        await _stop.CancelAsync();
        await Task.WhenAll(_loops);
        lock (_versions)
        {
            return (_versions.ToList(), _failures.ToList());
        }
    }

    public void Dispose()
    {
        _stop.Cancel();
        _client.Dispose();
        _stop.Dispose();
    }
}
