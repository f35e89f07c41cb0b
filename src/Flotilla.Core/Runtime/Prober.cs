using System.Net.Sockets;

namespace Flotilla.Runtime;

/// <summary>Readiness and liveness checks: an HTTP GET that must answer 2xx/3xx, or a TCP connect when no path is declared.</summary>
internal sealed class Prober : IDisposable
{
    private static readonly TimeSpan Timeout = TimeSpan.FromSeconds(1);
    private readonly HttpClient _http = new(new SocketsHttpHandler
    {
        UseProxy = false,
        AllowAutoRedirect = false,
        ConnectTimeout = Timeout,
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(5),
    })
    { Timeout = Timeout };

    public async Task<bool> ProbeAsync(string host, int port, string? path, CancellationToken cancellationToken)
    {
        try
        {
            if (path is null)
            {
                using var socket = new Socket(SocketType.Stream, ProtocolType.Tcp);
                using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
                timeout.CancelAfter(Timeout);
                await socket.ConnectAsync(host, port, timeout.Token);
                return true;
            }
            using var response = await _http.GetAsync($"http://{(host.Contains(':') ? $"[{host}]" : host)}:{port}{path}", HttpCompletionOption.ResponseHeadersRead, cancellationToken);
            return (int)response.StatusCode is >= 200 and < 400;
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    public void Dispose() => _http.Dispose();
}
