using System.Collections.Concurrent;

namespace Flotilla.Router;

/// <summary>
/// The data plane: one endpoint per service, fed whole routing tables. It keeps serving the
/// last table it was given; removing an instance from a table takes it out of rotation for new
/// requests at once, and <see cref="WaitForDrainAsync"/> waits for the ones it still serves.
/// </summary>
/// <param name="log">Where to say what went wrong with a request (rate-limited per endpoint); nowhere by default.</param>
/// <param name="listeners">Where listening sockets come from: bound here by default, or held by the router's supervisor.</param>
/// <param name="time">The clock of passive health (how long a failed instance is avoided); the system's by default.</param>
public sealed class RouterHost(Action<string>? log = null, IListenerSource? listeners = null, TimeProvider? time = null) : IRouter
{
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly IListenerSource _listeners = listeners ?? DirectListeners.Instance;
    private readonly ConcurrentDictionary<string, ServiceEndpoint> _endpoints = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, DestinationState> _destinations = new(StringComparer.Ordinal);
    private readonly Lock _applyGate = new();
    private readonly UpstreamClients _clients = new();
    private readonly Metrics.RouterMetrics _metrics = new();
    private readonly Mirror.MirrorWorker _mirror = new();
    private readonly ConcurrentDictionary<string, Mirror.MirrorReport> _reports = new(StringComparer.Ordinal);
    private RoutingTable _table = RoutingTable.Empty;
    private OfrepEndpoint? _flags;
    private readonly SemaphoreSlim _flagsGate = new(1, 1);

    public RoutingTable Table => Volatile.Read(ref _table);

    /// <summary>The port each service's endpoint listens on.</summary>
    public IReadOnlyDictionary<string, int> Endpoints => _endpoints.ToDictionary(e => e.Key, e => e.Value.Port);

    /// <summary>Opens the endpoint of a service (idempotent); returns its port.</summary>
    public async Task<int> AddServiceAsync(string service, int? port, CancellationToken cancellationToken = default)
    {
        if (_endpoints.TryGetValue(service, out var existing))
        {
            return existing.Port;
        }
        var endpoint = await ServiceEndpoint.StartAsync(service, port, _listeners, _clients, _mirror, log, DemandHeld, () => RoutesFor(service, Table), cancellationToken);
        _endpoints[service] = endpoint;
        // A table applied while it opened did not reach it yet.
        Apply(Table);
        return endpoint.Port;
    }

    public async Task RemoveServiceAsync(string service)
    {
        if (_endpoints.TryRemove(service, out var endpoint))
        {
            await endpoint.DisposeAsync();
        }
        await _listeners.CloseAsync(ServiceEndpoint.ListenerKey(service));
    }

    public Task ApplyAsync(RoutingTable table)
    {
        Apply(table);
        return Task.CompletedTask;
    }

    /// <summary>Swaps in a new table; destinations keep their counters across swaps.</summary>
    public void Apply(RoutingTable table)
    {
        lock (_applyGate)
        {
            var routed = new HashSet<string>(StringComparer.Ordinal);
            var revisions = new HashSet<(string, string)>();
            foreach (var (name, endpoint) in _endpoints)
            {
                var routes = table.Services.TryGetValue(name, out var list) ? list : [];
                routed.UnionWith(routes.Select(r => r.InstanceId));
                revisions.UnionWith(routes.Select(r => (RoutingTable.ServiceOf(name), r.Revision)));
                endpoint.SetRoutes(RoutesFor(name, table));
            }
            _metrics.Prune(revisions);
            foreach (var (service, report) in _reports)
            {
                if (table.MirrorsOrEmpty.GetValueOrDefault(service) is not { } policy || policy.Candidate != report.Candidate || policy.Run != report.Run)
                {
                    report.Close();
                }
            }
            // Counters of instances that left the table are kept only while requests to them are in flight.
            foreach (var (id, state) in _destinations)
            {
                if (!routed.Contains(id) && state.InFlight == 0)
                {
                    _destinations.TryRemove(id, out _);
                }
            }
            Volatile.Write(ref _table, table);
        }
    }

    /// <summary>What one endpoint serves under <paramref name="table"/>; its destinations keep their counters across tables.</summary>
    private ServiceRoutes RoutesFor(string name, RoutingTable table)
    {
        lock (_applyGate)
        {
            var routes = table.Services.TryGetValue(name, out var list) ? list : [];
            var service = RoutingTable.ServiceOf(name);
            // An instance that moved (an engine replaced its task on another node) is a new destination at its new address.
            var states = routes.Select(r => _destinations.AddOrUpdate(
                r.InstanceId,
                _ => new DestinationState(r.InstanceId, r.Prefix, _metrics.For(service, r.Revision), _time),
                (_, known) => known.Prefix == r.Prefix ? known : new DestinationState(r.InstanceId, r.Prefix, _metrics.For(service, r.Revision), _time))).ToArray();
            var mirror = table.MirrorsOrEmpty.GetValueOrDefault(name);
            return new ServiceRoutes(name, states, routes, table.SplitsOrEmpty.GetValueOrDefault(name), mirror, mirror is null ? null : ReportFor(name, mirror),
                table.FunctionsOrEmpty.GetValueOrDefault(name));
        }
    }

    /// <summary>The report of a service's parallel run: a new one for each candidate revision; kept after the run for the record.</summary>
    private Mirror.MirrorReport ReportFor(string service, Mirror.MirrorPolicy policy) =>
        _reports.AddOrUpdate(service, _ => new Mirror.MirrorReport(policy.Candidate, policy.Run),
            (_, existing) => existing.Candidate == policy.Candidate && existing.Run == policy.Run && !existing.IsClosed ? existing : new Mirror.MirrorReport(policy.Candidate, policy.Run));

    /// <summary>Where a service's parallel run stands (null when it never had one).</summary>
    public Mirror.ParallelReport? ParallelReport(string service) => _reports.TryGetValue(service, out var report) ? report.Snapshot() : null;

    public Task<Mirror.ParallelReport?> ParallelReportAsync(string service) => Task.FromResult(ParallelReport(service));

    /// <summary>Requests per service and revision since the last call (for canary analysis).</summary>
    public Task<IReadOnlyList<Metrics.RevisionInterval>> TakeMetricsAsync() => Task.FromResult(_metrics.TakeIntervals());

    /// <summary>Cumulative request counts and latency histograms per service and revision, then functions' cold starts, in Prometheus' text format.</summary>
    public Task<string> PrometheusAsync() => Task.FromResult(_metrics.Prometheus() + Functions.ColdStartMetrics.Render(_endpoints.Values.Where(e => e.IsFunction).Select(e => (e.Service, e.Gate))));

    private long _demandSequence;
    private TaskCompletionSource _demandHeld = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>A request was held for want of an instance: wake the control plane's autoscaler.</summary>
    private void DemandHeld()
    {
        Interlocked.Increment(ref _demandSequence);
        Interlocked.Exchange(ref _demandHeld, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously)).TrySetResult();
    }

    public async Task<Functions.DemandReport> WaitForDemandAsync(long after, TimeSpan wait, CancellationToken cancellationToken = default)
    {
        var held = Volatile.Read(ref _demandHeld).Task;
        if (Interlocked.Read(ref _demandSequence) <= after && wait > TimeSpan.Zero)
        {
            try
            {
                await held.WaitAsync(wait, cancellationToken);
            }
            catch (TimeoutException)
            {
            }
        }
        var functions = _endpoints.Values.Where(e => e.IsFunction).Select(e => e.Gate.Take(e.Service)).ToList();
        return new Functions.DemandReport(Interlocked.Read(ref _demandSequence), functions);
    }

    public int? FlagsPort => _flags?.Port;

    /// <summary>The flagd document the flag service serves now (null when it does not serve).</summary>
    public string? FlagsDocument => _flags?.Flags.Document;

    public string? FlagsAccess => _flags?.Access;

    public async Task<int> ServeFlagsAsync(int? port, string document, string? access, CancellationToken cancellationToken = default)
    {
        var flags = Flags.FlagDocument.CompileServed(document);
        await _flagsGate.WaitAsync(cancellationToken);
        try
        {
            if (_flags is not null && (port is null || port == _flags.Port))
            {
                _flags.Swap(flags, access);
                return _flags.Port;
            }
            var opened = await OfrepEndpoint.StartAsync(port, flags, access, _listeners, cancellationToken);
            if (_flags is not null)
            {
                await _flags.DisposeAsync();
            }
            _flags = opened;
            return opened.Port;
        }
        finally
        {
            _flagsGate.Release();
        }
    }

    public async Task StopFlagsAsync()
    {
        await _flagsGate.WaitAsync();
        try
        {
            if (_flags is not null)
            {
                await _flags.DisposeAsync();
                _flags = null;
                await _listeners.CloseAsync(OfrepEndpoint.ListenerKey);
            }
        }
        finally
        {
            _flagsGate.Release();
        }
    }

    /// <summary>Waits until the instance has no request in flight through the router, or the timeout passes.</summary>
    public async Task<bool> WaitForDrainAsync(string instanceId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = Environment.TickCount64 + (long)timeout.TotalMilliseconds;
        if (!_destinations.TryGetValue(instanceId, out var state))
        {
            return true;
        }
        while (state.InFlight > 0)
        {
            if (Environment.TickCount64 > deadline)
            {
                return false;
            }
            await Task.Delay(10, cancellationToken);
        }
        return true;
    }

    public async ValueTask DisposeAsync()
    {
        await Task.WhenAll(_endpoints.Values.Select(e => e.DisposeAsync().AsTask()));
        _endpoints.Clear();
        await StopFlagsAsync();
        await _mirror.DisposeAsync();
        _clients.Dispose();
    }
}
