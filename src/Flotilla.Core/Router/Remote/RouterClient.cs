using System.Net;
using System.Net.Http.Json;

namespace Flotilla.Router.Remote;

/// <summary>
/// Drives a router process through its admin API. Attaches to the one a previous control plane
/// left running when it is still there (its table keeps serving meanwhile), else starts one.
/// A watchdog restarts a router process that died and gives it back its endpoints (on the same
/// ports) and the latest table.
/// </summary>
public sealed class RouterClient : IRouter
{
    private static readonly TimeSpan StartTimeout = TimeSpan.FromSeconds(20);
    private readonly string _dataDirectory;
    private readonly IReadOnlyList<string> _routerCommand;
    private readonly Action<string, bool> _report;
    private readonly HttpClient _http = new() { Timeout = Timeout.InfiniteTimeSpan };
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _shutdown = new();
    private Dictionary<string, int> _endpoints = new(StringComparer.Ordinal);
    private RoutingTable _table = RoutingTable.Empty;
    private RouterProcess _process = null!;
    private bool _tableDirty;
    private (int? Port, string? Document, string? Access) _flags;
    private bool _flagsDirty;
    private bool _stopOnDispose;
    private Task _watchdog = Task.CompletedTask;

    private IReadOnlyList<string> _routerArguments = [];

    private RouterClient(string dataDirectory, IReadOnlyList<string> routerCommand, Action<string, bool> report)
    {
        _dataDirectory = dataDirectory;
        _routerCommand = routerCommand;
        _report = report;
    }

    public IReadOnlyDictionary<string, int> Endpoints => Volatile.Read(ref _endpoints);
    public RoutingTable Table => Volatile.Read(ref _table);

    /// <summary>True when this client found a router process still serving from before (re-adopted).</summary>
    public bool Adopted { get; private set; }

    public int RouterPid => _process.Pid;

    /// <param name="routerCommand">How to run this Flotilla (program and leading arguments); <c>router</c> is appended.</param>
    /// <param name="report">Where to say what happened to the router process (message, is a warning).</param>
    /// <param name="routerArguments">Extra arguments of the router process (a router adopted from before keeps the ones it was started with).</param>
    public static async Task<RouterClient> AttachOrStartAsync(string dataDirectory, IReadOnlyList<string> routerCommand, Action<string, bool> report,
        IReadOnlyList<string>? routerArguments = null, CancellationToken cancellationToken = default)
    {
        var client = new RouterClient(dataDirectory, routerCommand, report) { _routerArguments = routerArguments ?? [] };
        if (RouterProcess.Load(dataDirectory) is { IsRunning: true } existing && await client.TryAttachAsync(existing, cancellationToken))
        {
            client.Adopted = true;
            report($"router process {existing.Pid} still serving: adopted it with its {client._endpoints.Count} endpoints", false);
        }
        else
        {
            await client.StartProcessAsync(cancellationToken);
            report($"router process {client._process.Pid} started", false);
        }
        client._watchdog = Task.Run(() => client.WatchAsync(client._shutdown.Token), CancellationToken.None);
        return client;
    }

    private async Task<bool> TryAttachAsync(RouterProcess process, CancellationToken cancellationToken)
    {
        _process = process;
        try
        {
            var state = await SendAsync<RouterState>(HttpMethod.Get, "/admin/state", null, cancellationToken);
            Volatile.Write(ref _endpoints, new Dictionary<string, int>(state.Endpoints, StringComparer.Ordinal));
            Volatile.Write(ref _table, state.Table);
            _flags = (state.FlagsPort, state.FlagsDocument, state.FlagsAccess);
            return true;
        }
        catch (HttpRequestException)
        {
            return false;
        }
    }

    private async Task StartProcessAsync(CancellationToken cancellationToken)
    {
        var wanted = Endpoints;
        _process = RouterProcess.Spawn(_dataDirectory, _routerCommand, _routerArguments);
        var deadline = DateTime.UtcNow + StartTimeout;
        while (true)
        {
            if (!_process.IsRunning)
            {
                throw new InvalidOperationException($"the router process exited at start; see {Path.Combine(_dataDirectory, "logs", "router.log")}");
            }
            try
            {
                await SendAsync<RouterState>(HttpMethod.Get, "/admin/state", null, cancellationToken);
                break;
            }
            catch (HttpRequestException) when (DateTime.UtcNow < deadline)
            {
                await Task.Delay(50, cancellationToken);
            }
        }
        Volatile.Write(ref _endpoints, new Dictionary<string, int>(StringComparer.Ordinal));
        foreach (var (service, port) in wanted)
        {
            try
            {
                await AddServiceAsync(service, port, cancellationToken);
            }
            catch (EndpointBindException e)
            {
                _report(e.Message, true);
            }
        }
        _tableDirty = true;
        _flagsDirty = _flags.Document is not null;
    }

    private async Task WatchAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(250, cancellationToken);
                await _gate.WaitAsync(cancellationToken);
                try
                {
                    if (!_process.IsRunning)
                    {
                        _report($"router process {_process.Pid} is gone; starting a new one", true);
                        await StartProcessAsync(cancellationToken);
                        _report($"router process {_process.Pid} started; endpoints restored", false);
                    }
                    if (_tableDirty)
                    {
                        await PushTableAsync(Table, cancellationToken);
                    }
                    if (_flagsDirty && _flags.Document is { } document)
                    {
                        await PushFlagsAsync(_flags.Port, document, _flags.Access, cancellationToken);
                    }
                }
                finally
                {
                    _gate.Release();
                }
            }
            catch (OperationCanceledException)
            {
                return;
            }
            catch (Exception e) when (e is HttpRequestException or InvalidOperationException or IOException)
            {
                _report($"router process: {e.Message}", true);
            }
        }
    }

    public async Task<int> AddServiceAsync(string service, int? port, CancellationToken cancellationToken = default)
    {
        if (Endpoints.TryGetValue(service, out var existing))
        {
            return existing;
        }
        var query = port is { } p ? $"?port={p}" : "";
        using var response = await SendRawAsync(HttpMethod.Put, $"/admin/endpoints/{Uri.EscapeDataString(service)}{query}", null, cancellationToken);
        if (response.StatusCode == HttpStatusCode.Conflict)
        {
            var error = await response.Content.ReadFromJsonAsync<ErrorBody>(RouterAdmin.Json, cancellationToken);
            throw new EndpointBindException(service, port ?? 0, error?.Error ?? "the endpoint could not listen");
        }
        response.EnsureSuccessStatusCode();
        var opened = await response.Content.ReadFromJsonAsync<PortBody>(RouterAdmin.Json, cancellationToken);
        Volatile.Write(ref _endpoints, new Dictionary<string, int>(Endpoints, StringComparer.Ordinal) { [service] = opened!.Port });
        return opened.Port;
    }

    public async Task RemoveServiceAsync(string service)
    {
        using var response = await SendRawAsync(HttpMethod.Delete, $"/admin/endpoints/{Uri.EscapeDataString(service)}", null, CancellationToken.None);
        response.EnsureSuccessStatusCode();
        var endpoints = new Dictionary<string, int>(Endpoints, StringComparer.Ordinal);
        endpoints.Remove(service);
        Volatile.Write(ref _endpoints, endpoints);
    }

    /// <summary>Remembers the table first: if the router cannot take it now, the watchdog pushes it when it can.</summary>
    public async Task ApplyAsync(RoutingTable table)
    {
        Volatile.Write(ref _table, table);
        _tableDirty = true;
        await _gate.WaitAsync();
        try
        {
            await PushTableAsync(table, CancellationToken.None);
        }
        catch (HttpRequestException)
        {
            // The router is down or restarting; the watchdog retries.
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task PushTableAsync(RoutingTable table, CancellationToken cancellationToken)
    {
        using var response = await SendRawAsync(HttpMethod.Put, "/admin/table", JsonContent.Create(table, options: RouterAdmin.Json), cancellationToken);
        response.EnsureSuccessStatusCode();
        if (ReferenceEquals(table, Table))
        {
            _tableDirty = false;
        }
    }

    public int? FlagsPort => _flags.Port;

    public string? FlagsAccess => _flags.Access;

    /// <summary>Remembers the flags first: a router that is down gets them from the watchdog when it is back (on the same port).</summary>
    public async Task<int> ServeFlagsAsync(int? port, string document, string? access, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            return await PushFlagsAsync(port ?? _flags.Port, document, access, cancellationToken);
        }
        catch (HttpRequestException) when ((port ?? _flags.Port) is not null)
        {
            _flags = (port ?? _flags.Port, document, access);
            _flagsDirty = true;
            return _flags.Port!.Value;
        }
        finally
        {
            _gate.Release();
        }
    }

    private async Task<int> PushFlagsAsync(int? port, string document, string? access, CancellationToken cancellationToken)
    {
        var query = port is { } p ? $"?port={p}" : "";
        using var response = await SendRawAsync(HttpMethod.Put, $"/admin/flags{query}", RouterAdmin.FlagsContent(document, access), cancellationToken);
        if (response.StatusCode is HttpStatusCode.Conflict or HttpStatusCode.UnprocessableEntity)
        {
            var error = await response.Content.ReadFromJsonAsync<ErrorBody>(RouterAdmin.Json, cancellationToken);
            throw response.StatusCode == HttpStatusCode.Conflict
                ? new EndpointBindException("flags", port ?? 0, error?.Error ?? "the flag port could not listen")
                : new InvalidOperationException(error?.Error ?? "the router refused the flags");
        }
        response.EnsureSuccessStatusCode();
        var opened = await response.Content.ReadFromJsonAsync<PortBody>(RouterAdmin.Json, cancellationToken);
        _flags = (opened!.Port, document, access);
        _flagsDirty = false;
        return opened.Port;
    }

    public async Task StopFlagsAsync()
    {
        await _gate.WaitAsync();
        try
        {
            _flags = (null, null, null);
            _flagsDirty = false;
            using var response = await SendRawAsync(HttpMethod.Delete, "/admin/flags", null, CancellationToken.None);
            response.EnsureSuccessStatusCode();
        }
        catch (HttpRequestException)
        {
            // A router that is down serves no flags; a new one gets none.
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<bool> WaitForDrainAsync(string instanceId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        try
        {
            var result = await SendAsync<DrainBody>(HttpMethod.Post, $"/admin/drain/{Uri.EscapeDataString(instanceId)}?timeoutMs={(long)timeout.TotalMilliseconds}", null, cancellationToken,
                timeout + AdminCallLimit);
            return result.Drained;
        }
        catch (HttpRequestException)
        {
            // No router, no requests in flight through it.
            return true;
        }
    }

    /// <summary>Requests per service and revision since the last call; none while the router does not answer.</summary>
    public async Task<Functions.DemandReport> WaitForDemandAsync(long after, TimeSpan wait, CancellationToken cancellationToken = default)
    {
        try
        {
            return await SendAsync<Functions.DemandReport>(HttpMethod.Get, $"/admin/demand?after={after}&waitMs={(long)wait.TotalMilliseconds}", null, cancellationToken, wait + AdminCallLimit);
        }
        catch (HttpRequestException)
        {
            // The router is restarting: no demand seen is the safe answer (the autoscaler keeps its counts).
            await Task.Delay(wait, cancellationToken);
            return new Functions.DemandReport(after, []);
        }
    }

    public async Task<IReadOnlyList<Metrics.RevisionInterval>> TakeMetricsAsync()
    {
        try
        {
            var wire = await SendAsync<List<Metrics.RevisionInterval.Wire>>(HttpMethod.Post, "/admin/metrics/interval", null, CancellationToken.None);
            return wire.Select(Metrics.RevisionInterval.FromWire).ToList();
        }
        catch (HttpRequestException)
        {
            return [];
        }
    }

    /// <summary>Where a service's parallel run stands; null when it never had one or the router does not answer.</summary>
    public async Task<Mirror.ParallelReport?> ParallelReportAsync(string service)
    {
        try
        {
            using var response = await SendRawAsync(HttpMethod.Get, $"/admin/parallel/{Uri.EscapeDataString(service)}", null, CancellationToken.None);
            return response.IsSuccessStatusCode ? await response.Content.ReadFromJsonAsync<Mirror.ParallelReport>(RouterAdmin.Json) : null;
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    /// <summary>The router's Prometheus text; throws <see cref="HttpRequestException"/> while it does not answer.</summary>
    public async Task<string> PrometheusAsync()
    {
        using var response = await SendRawAsync(HttpMethod.Get, "/admin/metrics", null, CancellationToken.None);
        response.EnsureSuccessStatusCode();
        return await response.Content.ReadAsStringAsync();
    }

    /// <summary>
    /// Replaces the router's worker process without dropping a request: a new worker (from the
    /// Flotilla program on disk now) serves beside the old one, which finishes its requests and
    /// leaves. Returns the pids of the old and the new worker once the new one has taken over.
    /// </summary>
    public async Task<(int Old, int New)> ReloadAsync(CancellationToken cancellationToken = default)
    {
        var before = await SendAsync<RouterState>(HttpMethod.Get, "/admin/state", null, cancellationToken);
        using (var response = await SendRawAsync(HttpMethod.Post, "/admin/reload", null, cancellationToken))
        {
            if (response.StatusCode is HttpStatusCode.NotFound or HttpStatusCode.Conflict)
            {
                throw new InvalidOperationException($"router process {_process.Pid} cannot be reloaded: it was started by an older Flotilla without a supervisor; restart it once with 'flotilla shutdown --stop-all' and 'flotilla server'");
            }
            response.EnsureSuccessStatusCode();
        }
        // The new worker takes the admin API only once the old one has finished (at most ~35 s of draining).
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (DateTime.UtcNow < deadline)
        {
            await Task.Delay(100, cancellationToken);
            try
            {
                var now = await SendAsync<RouterState>(HttpMethod.Get, "/admin/state", null, cancellationToken);
                if (now.Pid != before.Pid)
                {
                    return (before.Pid, now.Pid);
                }
            }
            catch (HttpRequestException)
            {
                // The admin API is between workers.
            }
        }
        throw new InvalidOperationException($"the router's new worker did not take over in 120 s; see {Path.Combine(_dataDirectory, "logs", "router.log")}");
    }

    /// <summary>Makes disposal stop the router process too (a full shutdown), instead of leaving it serving.</summary>
    public void StopProcessOnDispose() => _stopOnDispose = true;

    private async Task<T> SendAsync<T>(HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken, TimeSpan? limit = null)
    {
        using var response = await SendRawAsync(method, path, content, cancellationToken, limit);
        response.EnsureSuccessStatusCode();
        return (await response.Content.ReadFromJsonAsync<T>(RouterAdmin.Json, cancellationToken))!;
    }

    /// <summary>
    /// One admin call, bounded: the supervisor holds the admin port even while no worker serves it
    /// (one that cannot start), so a call would otherwise wait in the backlog for good. Running out
    /// of time is an <see cref="HttpRequestException"/>, as a router that is down.
    /// </summary>
    private async Task<HttpResponseMessage> SendRawAsync(HttpMethod method, string path, HttpContent? content, CancellationToken cancellationToken, TimeSpan? limit = null)
    {
        using var request = new HttpRequestMessage(method, $"http://127.0.0.1:{_process.AdminPort}{path}") { Content = content };
        request.Headers.Add(RouterAdmin.SecretHeader, _process.Secret);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        var allowed = limit ?? AdminCallLimit;
        timeout.CancelAfter(allowed);
        try
        {
            return await _http.SendAsync(request, timeout.Token);
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            throw new HttpRequestException($"router process {_process.Pid} did not answer {method} {path} within {allowed.TotalSeconds:0} s; see {Path.Combine(_dataDirectory, "logs", "router.log")}");
        }
    }

    private static readonly TimeSpan AdminCallLimit = TimeSpan.FromSeconds(30);

    public async ValueTask DisposeAsync()
    {
        await _shutdown.CancelAsync();
        await _watchdog;
        if (_stopOnDispose)
        {
            await _process.StopAsync(TimeSpan.FromSeconds(15));
            File.Delete(Path.Combine(_dataDirectory, "router.json"));
        }
        _http.Dispose();
        _shutdown.Dispose();
    }

    private sealed record PortBody(int Port);

    private sealed record ErrorBody(string Error);

    private sealed record DrainBody(bool Drained);
}
