using System.Net.Sockets;

namespace Flotilla.Router.HAProxy;

/// <summary>
/// The optional router engine (<c>flotilla server --router-engine haproxy</c>): HAProxy in
/// master-worker mode, driven through its runtime API behind the same seam as the embedded
/// router. Flotilla holds every endpoint's listening socket and hands it to HAProxy (<c>bind fd@N</c>,
/// <see cref="EndpointSockets"/>), so a HAProxy that dies leaves new connections waiting in the backlog for
/// the next one. Endpoints are frontends (adding or removing one starts a new HAProxy on the new set of
/// sockets beside the old one, which finishes its requests); instances are dynamic servers (<c>add server</c>) of the endpoint's backend, a
/// split is their weights (<c>set server weight</c>), and an instance that leaves the table goes
/// into maintenance (no new request; its requests in flight finish), is waited for on its
/// current sessions and then deleted. What it does not do is refused at apply (<see cref="Refuse"/>).
/// </summary>
public sealed partial class HAProxyRouter : IRouter, IRouterLimits
{
    private readonly HAProxyProcess _process;
    private readonly Action<string, bool> _report;
    private readonly SemaphoreSlim _gate = new(1, 1);
    private readonly CancellationTokenSource _shutdown = new();
    private readonly RevisionCounts _counts = new();
    private readonly Dictionary<string, List<ServerPlan>> _servers = new(StringComparer.Ordinal);
    private readonly Dictionary<string, Draining> _draining = new(StringComparer.Ordinal);
    private readonly HashSet<string> _undeletable = new(StringComparer.Ordinal);
    private readonly EndpointSockets _sockets = new();
    /// <summary>Each endpoint's descriptor number in the running master (its <c>bind fd@N</c>).</summary>
    private IReadOnlyDictionary<string, int> _descriptors = new Dictionary<string, int>();
    private Dictionary<string, int> _endpoints = new(StringComparer.Ordinal);
    private RoutingTable _table = RoutingTable.Empty;
    private bool _stopOnDispose;
    private Task _watchdog = Task.CompletedTask;

    private HAProxyRouter(string directory, string program, Action<string, bool> report, bool stopOnDispose)
    {
        _process = new HAProxyProcess(directory, program);
        _report = report;
        _stopOnDispose = stopOnDispose;
    }

    public IReadOnlyDictionary<string, int> Endpoints => Volatile.Read(ref _endpoints);
    public RoutingTable Table => Volatile.Read(ref _table);

    /// <summary>The HAProxy master's pid (its worker is its child).</summary>
    public int MasterPid => _process.MasterPid;

    internal HAProxyProcess Process => _process;

    /// <param name="directory">Where haproxy.cfg, its pid file and sockets go (under the data directory).</param>
    /// <param name="stopOnDispose">True under <c>flotilla up</c> and in tests; a server leaves it serving for the next server to adopt.</param>
    public static async Task<HAProxyRouter> StartAsync(string directory, Action<string, bool> report, bool stopOnDispose, string program = "haproxy", CancellationToken cancellationToken = default)
    {
        System.IO.Directory.CreateDirectory(directory);
        var router = new HAProxyRouter(directory, program, report, stopOnDispose);
        await router._process.FindRetiredAsync(cancellationToken);
        try
        {
            if (await router._process.TryAdoptAsync(cancellationToken) && router.LoadState() && router.TakeSockets())
            {
                // A retired master a crashed control plane had not yet soft-stopped finishes and exits too.
                router._process.SoftStopRetired();
                // Its runtime state may be newer than its config: bring both in line with what we know.
                await router.ReloadAsync(cancellationToken);
                report($"haproxy (master {router.MasterPid}) still serving: adopted it with its {router._endpoints.Count} endpoints", false);
            }
            else
            {
                await router._process.StopAsync();
                await router.SpawnAsync(beside: false, cancellationToken);
                report($"haproxy (master {router.MasterPid}) started as the router engine", false);
            }
        }
        catch
        {
            // The sockets taken or bound here are not left open by a start that failed.
            router._sockets.Dispose();
            throw;
        }
        router._watchdog = Task.Run(() => router.WatchAsync(router._shutdown.Token), CancellationToken.None);
        return router;
    }

    public string? Refuse(Model.SystemSpec spec) => HAProxyRefusals.Refuse(spec);

    public string? Refuse(bool flags, IEnumerable<(string Service, Model.RolloutSpec Rollout, bool Function)> services) => HAProxyRefusals.Refuse(flags, services);

    /// <summary>A <c>flotilla shutdown --stop-all</c>: the engine stops with the control plane.</summary>
    public void StopProcessOnDispose() => _stopOnDispose = true;

    public async Task<int> AddServiceAsync(string service, int? port, CancellationToken cancellationToken = default)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            if (Endpoints.TryGetValue(service, out var existing))
            {
                return existing;
            }
            // Bound here, not by HAProxy (which would only say so in its log): a taken port fails the add, naming it.
            var chosen = _sockets.Open(service, port ?? 0);
            var before = _endpoints;
            Volatile.Write(ref _endpoints, new Dictionary<string, int>(Endpoints, StringComparer.Ordinal) { [service] = chosen });
            _servers[service] = Plan(service, Table);
            try
            {
                // The running master did not inherit the new socket: a new one beside it, on all of them.
                await ReloadAsync(cancellationToken, beside: true);
            }
            catch
            {
                Volatile.Write(ref _endpoints, before);
                _servers.Remove(service);
                _sockets.Close(service);
                throw;
            }
            return chosen;
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task RemoveServiceAsync(string service)
    {
        await _gate.WaitAsync();
        try
        {
            var endpoints = new Dictionary<string, int>(Endpoints, StringComparer.Ordinal);
            if (endpoints.Remove(service))
            {
                var before = _endpoints;
                var servers = _servers.GetValueOrDefault(service);
                Volatile.Write(ref _endpoints, endpoints);
                _servers.Remove(service);
                try
                {
                    // The running master keeps every descriptor it inherited: the socket closes with it, once it has
                    // finished its requests, beside a new one without it.
                    await ReloadAsync(CancellationToken.None, beside: true);
                }
                catch
                {
                    // The running master serves on with the endpoint: so do the state and the socket held here.
                    Volatile.Write(ref _endpoints, before);
                    if (servers is not null) { _servers[service] = servers; }
                    throw;
                }
                _sockets.Close(service);
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task ApplyAsync(RoutingTable table)
    {
        await _gate.WaitAsync();
        try
        {
            Volatile.Write(ref _table, table);
            SaveState();
            foreach (var endpoint in Endpoints.Keys)
            {
                await ApplyEndpointAsync(endpoint, Plan(endpoint, table));
            }
        }
        finally
        {
            _gate.Release();
        }
    }

    /// <summary>The runtime API commands that take one backend from its servers to <paramref name="wanted"/>.</summary>
    private async Task ApplyEndpointAsync(string endpoint, List<ServerPlan> wanted)
    {
        var backend = HAProxyConfig.Backend(endpoint);
        var current = _servers.GetValueOrDefault(endpoint) ?? [];
        foreach (var gone in current.Where(c => wanted.All(w => w.Name != c.Name)))
        {
            await CommandAsync($"set server {backend}/{gone.Name} state maint");
            _draining[gone.InstanceId] = new Draining(endpoint, gone, InCurrent: true);
        }
        foreach (var server in wanted)
        {
            var known = current.FirstOrDefault(c => c.Name == server.Name);
            if (known is null && _draining.Remove(server.InstanceId, out var drained) && drained.Endpoint == endpoint && drained.InCurrent)
            {
                known = drained.Server with { Weight = -1 };
                await CommandAsync($"set server {backend}/{server.Name} state ready");
            }
            if (known is null)
            {
                // A dynamic server has no pool of idle connections unless told (measured: a new connection per
                // request, a third of the throughput); these are a configured server's defaults.
                var added = await CommandAsync($"add server {backend}/{server.Name} {server.Address} weight {server.Weight} pool-max-conn -1 pool-purge-delay 5s");
                if (!added.Contains("New server registered", StringComparison.Ordinal))
                {
                    _report($"haproxy: add server {backend}/{server.Name}: {added.Trim()}", true);
                    continue;
                }
                await CommandAsync($"enable server {backend}/{server.Name}");
            }
            else
            {
                if (known.Address != server.Address)
                {
                    await CommandAsync($"set server {backend}/{server.Name} addr {server.Host} port {server.Port}");
                }
                if (known.Weight != server.Weight)
                {
                    await CommandAsync($"set server {backend}/{server.Name} weight {server.Weight}");
                }
            }
            _counts.Own(backend, server.Name, RoutingTable.ServiceOf(endpoint), server.Revision);
        }
        _servers[endpoint] = wanted;
    }

    private List<ServerPlan> Plan(string endpoint, RoutingTable table) =>
        HAProxyWeights.Plan(table.Services.GetValueOrDefault(endpoint) ?? [], table.SplitsOrEmpty.GetValueOrDefault(endpoint)).ToList();

    /// <summary>
    /// <c>flotilla reload-router</c>: a hitless reload through the master (it re-executes the haproxy
    /// program on disk; the new worker takes the sockets, the old one finishes its requests).
    /// </summary>
    public async Task<(int Old, int New)> ReloadWorkerAsync(CancellationToken cancellationToken)
    {
        await _gate.WaitAsync(cancellationToken);
        try
        {
            var old = (await _process.WorkersAsync(cancellationToken)).FirstOrDefault().Pid;
            await ReloadAsync(cancellationToken);
            return (old, (await _process.WorkersAsync(cancellationToken)).FirstOrDefault().Pid);
        }
        finally
        {
            _gate.Release();
        }
    }

    public async Task<IReadOnlyList<Metrics.RevisionInterval>> TakeMetricsAsync()
    {
        await StatsAsync(CancellationToken.None);
        return _counts.Take();
    }

    public async Task<string> PrometheusAsync()
    {
        await StatsAsync(CancellationToken.None);
        return _counts.Prometheus();
    }

    public Task<Mirror.ParallelReport?> ParallelReportAsync(string service) => Task.FromResult<Mirror.ParallelReport?>(null);

    public int? FlagsPort => null;

    public string? FlagsAccess => null;

    public Task<int> ServeFlagsAsync(int? port, string document, string? access, CancellationToken cancellationToken = default) =>
        throw new EndpointBindException("flags", port ?? 0, "flags (OFREP) are served by the embedded router only: run the server with '--router-engine yarp' (the default)");

    public Task StopFlagsAsync() => Task.CompletedTask;

    /// <summary>Functions are refused at apply under this engine: no request is ever held.</summary>
    public async Task<Functions.DemandReport> WaitForDemandAsync(long after, TimeSpan wait, CancellationToken cancellationToken = default)
    {
        await Task.Delay(wait > TimeSpan.Zero ? wait : TimeSpan.FromSeconds(1), cancellationToken);
        return new Functions.DemandReport(after, []);
    }

    /// <summary>Reads every server's counters (and folds them into the per-revision counts).</summary>
    private async Task<Dictionary<(string Backend, string Server), ServerStats>> StatsAsync(CancellationToken cancellationToken)
    {
        var stats = ServerStats.Parse(await HAProxyCli.SendAsync(_process.AdminSocket, "show stat", cancellationToken));
        _counts.Add(stats);
        return stats;
    }

    private async Task<string> CommandAsync(string command) => await HAProxyCli.SendAsync(_process.AdminSocket, command);

    /// <summary>
    /// Writes the config as things stand (servers being drained are left out: the old worker finishes them) and
    /// reloads; <paramref name="beside"/>: starts a new master on the current sockets beside the running one instead.
    /// </summary>
    private async Task ReloadAsync(CancellationToken cancellationToken, bool beside = false)
    {
        try
        {
            await StatsAsync(cancellationToken);
        }
        catch (Exception e) when (e is IOException or SocketException)
        {
        }
        if (beside)
        {
            await SpawnAsync(beside: true, cancellationToken);
        }
        else
        {
            WriteConfig();
            await _process.ReloadAsync(cancellationToken);
        }
        _counts.Restarted();
        // The new worker has none of them (the config leaves them out); the old one finishes their requests.
        foreach (var (instanceId, draining) in _draining.ToList())
        {
            _draining[instanceId] = draining with { InCurrent = false };
        }
    }

    private void WriteConfig()
    {
        var text = HAProxyConfig.Render(_process.Directory, Endpoints, _servers.ToDictionary(s => s.Key, s => (IReadOnlyList<ServerPlan>)s.Value, StringComparer.Ordinal), _descriptors);
        var temporary = _process.ConfigPath + ".new";
        File.WriteAllText(temporary, text);
        File.Move(temporary, _process.ConfigPath, overwrite: true);
    }

    private string StatePath => Path.Combine(_process.Directory, "state.json");

    private void SaveState() => SavedState.Save(StatePath, Endpoints, Table, _descriptors);

    private bool LoadState()
    {
        if (SavedState.Load(StatePath) is not { } state)
        {
            return false;
        }
        Volatile.Write(ref _endpoints, new Dictionary<string, int>(state.Endpoints, StringComparer.Ordinal));
        Volatile.Write(ref _table, state.Table);
        _descriptors = state.Descriptors ?? new Dictionary<string, int>();
        foreach (var endpoint in state.Endpoints.Keys)
        {
            _servers[endpoint] = Plan(endpoint, state.Table);
            foreach (var server in _servers[endpoint])
            {
                _counts.Own(HAProxyConfig.Backend(endpoint), server.Name, RoutingTable.ServiceOf(endpoint), server.Revision);
            }
        }
        return true;
    }

    /// <summary>
    /// HAProxy 2.6's master exits when its worker dies (measured: see the README): start it again with the table as
    /// it stands, on the sockets held here, whose backlog kept the connections that came meanwhile.
    /// </summary>
    private async Task WatchAsync(CancellationToken cancellationToken)
    {
        var ticks = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                await Task.Delay(100, cancellationToken);
                if (_process.IsRunning)
                {
                    if (++ticks % 10 == 0 && _draining.Count > 0)
                    {
                        await _gate.WaitAsync(cancellationToken);
                        try
                        {
                            await DeleteDrainedAsync(await StatsAsync(cancellationToken), await _process.OldWorkerStatsAsync(cancellationToken));
                        }
                        finally
                        {
                            _gate.Release();
                        }
                    }
                    continue;
                }
                await _gate.WaitAsync(cancellationToken);
                try
                {
                    if (!_process.IsRunning)
                    {
                        _report($"haproxy (master {_process.MasterPid}) is gone; starting it again", true);
                        _draining.Clear();
                        // On the same sockets: the connections that came meanwhile waited in their backlog.
                        await SpawnAsync(beside: false, cancellationToken);
                        _counts.Restarted();
                        _report($"haproxy (master {_process.MasterPid}) started again; endpoints and table restored", false);
                    }
                }
                finally
                {
                    _gate.Release();
                }
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e) when (e is InvalidOperationException or IOException or SocketException or EndpointBindException or OperationCanceledException)
            {
                _report($"haproxy: {e.Message}", true);
            }
        }
    }

    public async ValueTask DisposeAsync()
    {
        await _shutdown.CancelAsync();
        await _watchdog;
        if (_stopOnDispose)
        {
            await _process.StopAsync();
        }
        // Left serving, HAProxy holds its own copies of the sockets.
        _sockets.Dispose();
    }
}
