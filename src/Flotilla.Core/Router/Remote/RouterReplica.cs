using System.Net.Http.Json;

namespace Flotilla.Router.Remote;

/// <summary>
/// A router on another machine (<c>flotilla router --bind ADDRESS</c>, started there), fed what the
/// control plane's own router gets: the same endpoints on the same ports, the same table, the same
/// flags. What it should serve is kept here and pushed by a loop, so a replica that was away, or
/// restarted with an older state, is brought up to date when it answers again; meanwhile it serves
/// its last table (from its own disk), as the control plane's router does.
/// </summary>
internal sealed class RouterReplica : IAsyncDisposable
{
    private static readonly TimeSpan CallLimit = TimeSpan.FromSeconds(5);
    private static readonly TimeSpan Resync = TimeSpan.FromSeconds(5);
    private readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };
    private readonly string _secret;
    private readonly Action<string, bool> _report;
    private readonly System.Threading.Channels.Channel<bool> _pokes = System.Threading.Channels.Channel.CreateBounded<bool>(
        new System.Threading.Channels.BoundedChannelOptions(1) { FullMode = System.Threading.Channels.BoundedChannelFullMode.DropWrite });
    private readonly CancellationTokenSource _stopping = new();
    private readonly Lock _gate = new();
    private Dictionary<string, int> _endpoints = new(StringComparer.Ordinal);
    // Null until the control plane has a table: a replica keeps what it serves until then (it may be
    // serving the table of a control plane that is only restarting), so nothing is pushed before it.
    private RoutingTable? _table;
    private (int Port, string Document, string? Access)? _flags;
    private string? _down;
    private Task _loop = Task.CompletedTask;

    public RouterReplica(Uri admin, string secret, Action<string, bool> report)
    {
        Admin = admin;
        _secret = secret;
        _report = report;
    }

    /// <summary>The replica's admin API (its address is where clients reach its endpoints too).</summary>
    public Uri Admin { get; }

    /// <summary>Why it does not take what it is sent now, or null while it does.</summary>
    public string? Down => Volatile.Read(ref _down);

    private void Poke() => _pokes.Writer.TryWrite(true);

    public void Start() => _loop = Task.Run(() => RunAsync(_stopping.Token), CancellationToken.None);

    public void Want(string service, int port)
    {
        lock (_gate)
        {
            _endpoints = new Dictionary<string, int>(_endpoints, StringComparer.Ordinal) { [service] = port };
        }
        Poke();
    }

    public void Unwant(string service)
    {
        lock (_gate)
        {
            var endpoints = new Dictionary<string, int>(_endpoints, StringComparer.Ordinal);
            endpoints.Remove(service);
            _endpoints = endpoints;
        }
        Poke();
    }

    public void Flags((int Port, string Document, string? Access)? flags)
    {
        lock (_gate)
        {
            _flags = flags;
        }
        Poke();
    }

    /// <summary>Sends the table now (a drain that follows must find it there); a replica that is down gets it when it is back.</summary>
    public async Task ApplyAsync(RoutingTable table)
    {
        lock (_gate)
        {
            _table = table;
        }
        if (Down is not null)
        {
            // Not waited for: a replica that is away would hold every reconcile up by the call's limit.
            Poke();
            return;
        }
        try
        {
            await PushTableAsync(table, _stopping.Token);
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            Interlocked.CompareExchange(ref _down, e.Message, null);
            _report($"router replica {Admin.Authority} did not take the table: {e.Message}; it gets it when it answers again", true);
            Poke();
        }
    }

    /// <summary>Waits for the instance's requests through this replica; one that does not answer has none the control plane can wait for.</summary>
    public async Task<bool> WaitForDrainAsync(string instanceId, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (Down is not null)
        {
            return true;
        }
        try
        {
            using var response = await SendAsync(HttpMethod.Post, $"/admin/drain/{Uri.EscapeDataString(instanceId)}?timeoutMs={(long)timeout.TotalMilliseconds}", null, timeout + CallLimit, cancellationToken);
            return (await response.Content.ReadFromJsonAsync<DrainBody>(RouterAdmin.Json, cancellationToken))!.Drained;
        }
        catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !cancellationToken.IsCancellationRequested))
        {
            return true;
        }
    }

    /// <summary>Its requests per service and revision since the last call: the analysis counts every router's traffic.</summary>
    public async Task<IReadOnlyList<Metrics.RevisionInterval>> TakeMetricsAsync()
    {
        try
        {
            using var response = await SendAsync(HttpMethod.Post, "/admin/metrics/interval", null, CallLimit, _stopping.Token);
            var wire = await response.Content.ReadFromJsonAsync<List<Metrics.RevisionInterval.Wire>>(RouterAdmin.Json);
            return wire!.Select(Metrics.RevisionInterval.FromWire).ToList();
        }
        catch (Exception e) when (e is HttpRequestException or OperationCanceledException)
        {
            return [];
        }
    }

    private async Task RunAsync(CancellationToken stopping)
    {
        while (!stopping.IsCancellationRequested)
        {
            try
            {
                await SyncAsync(stopping);
                if (Interlocked.Exchange(ref _down, null) is { } was)
                {
                    _report($"router replica {Admin.Authority} is back and up to date (it was unreachable: {was})", false);
                }
            }
            catch (Exception e) when (e is HttpRequestException || (e is OperationCanceledException && !stopping.IsCancellationRequested))
            {
                if (Interlocked.Exchange(ref _down, e.Message) is null)
                {
                    _report($"router replica {Admin.Authority} does not answer: {e.Message}; it serves its last table, and gets the current one when it is back", true);
                }
            }
            catch (OperationCanceledException) when (stopping.IsCancellationRequested)
            {
                // Disposed with a call in flight: the loop ends here, and disposal (the caller's cleanup after it) goes on.
                return;
            }
            try
            {
                using var wait = CancellationTokenSource.CreateLinkedTokenSource(stopping);
                wait.CancelAfter(Resync);
                await _pokes.Reader.ReadAsync(wait.Token);
            }
            catch (OperationCanceledException) when (!stopping.IsCancellationRequested)
            {
                // Time for a look anyway.
            }
            catch (OperationCanceledException)
            {
                return;
            }
        }
    }

    /// <summary>Brings the replica to what it should serve: endpoints opened and closed, the table, the flags.</summary>
    private async Task SyncAsync(CancellationToken cancellationToken)
    {
        Dictionary<string, int> endpoints;
        RoutingTable? table;
        (int Port, string Document, string? Access)? flags;
        lock (_gate)
        {
            (endpoints, table, flags) = (_endpoints, _table, _flags);
        }
        if (table is null)
        {
            return;
        }
        using (var response = await SendAsync(HttpMethod.Get, "/admin/state", null, CallLimit, cancellationToken))
        {
            var state = (await response.Content.ReadFromJsonAsync<RouterState>(RouterAdmin.Json, cancellationToken))!;
            foreach (var (service, port) in endpoints.Where(e => state.Endpoints.GetValueOrDefault(e.Key) != e.Value))
            {
                using var opened = await SendAsync(HttpMethod.Put, $"/admin/endpoints/{Uri.EscapeDataString(service)}?port={port}", null, CallLimit, cancellationToken, allowConflict: true);
                if (!opened.IsSuccessStatusCode)
                {
                    _report($"router replica {Admin.Authority} cannot open service '{service}' on port {port}: {await opened.Content.ReadAsStringAsync(cancellationToken)}", true);
                }
            }
            foreach (var service in state.Endpoints.Keys.Except(endpoints.Keys))
            {
                using var _ = await SendAsync(HttpMethod.Delete, $"/admin/endpoints/{Uri.EscapeDataString(service)}", null, CallLimit, cancellationToken);
            }
            if (flags is { } wanted && (state.FlagsPort != wanted.Port || state.FlagsDocument != wanted.Document || state.FlagsAccess != wanted.Access))
            {
                using var _ = await SendAsync(HttpMethod.Put, $"/admin/flags?port={wanted.Port}", RouterAdmin.FlagsContent(wanted.Document, wanted.Access), CallLimit, cancellationToken, allowConflict: true);
            }
            else if (flags is null && state.FlagsPort is not null)
            {
                using var _ = await SendAsync(HttpMethod.Delete, "/admin/flags", null, CallLimit, cancellationToken);
            }
        }
        await PushTableAsync(table, cancellationToken);
    }

    private async Task PushTableAsync(RoutingTable table, CancellationToken cancellationToken)
    {
        using var _ = await SendAsync(HttpMethod.Put, "/admin/table", JsonContent.Create(table, options: RouterAdmin.Json), CallLimit, cancellationToken);
    }

    /// <summary>One admin call, bounded in time; a refusal is an <see cref="HttpRequestException"/> (409 may be allowed: the caller reads it).</summary>
    private async Task<HttpResponseMessage> SendAsync(HttpMethod method, string path, HttpContent? content, TimeSpan limit, CancellationToken cancellationToken, bool allowConflict = false)
    {
        using var request = new HttpRequestMessage(method, new Uri(Admin, path)) { Content = content };
        request.Headers.Add(RouterAdmin.SecretHeader, _secret);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(limit);
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new HttpRequestException($"no answer to {method} {path} within {limit.TotalSeconds:0} s");
        }
        if (response.IsSuccessStatusCode || (allowConflict && (int)response.StatusCode is 409 or 422))
        {
            return response;
        }
        response.Dispose();
        throw new HttpRequestException(response.StatusCode == System.Net.HttpStatusCode.Unauthorized
            ? "it refused the secret (FLOTILLA_ROUTERS_SECRET must be the FLOTILLA_ROUTER_SECRET it was started with)"
            : $"{method} {path} answered {(int)response.StatusCode}");
    }

    public async ValueTask DisposeAsync()
    {
        await _stopping.CancelAsync();
        await _loop;
        _http.Dispose();
    }

    private sealed record DrainBody(bool Drained);
}
