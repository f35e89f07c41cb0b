namespace Flotilla.Router;

/// <summary>
/// The control plane's router and its replicas on other machines, driven as one: each endpoint on
/// the same port everywhere, every table sent to all before a drain is waited for, and a drain that
/// waits on every router that answers. Clients may be pointed at any of them (DNS with several
/// addresses, or a load balancer in front), so losing the control plane's machine, or any one
/// node, leaves routers serving. Requests counted by every router feed the canary analysis;
/// the parallel run's report, Prometheus' text and the holds of functions at zero are the
/// primary's alone (see the README).
/// </summary>
internal sealed class RouterSet(IRouter primary, IReadOnlyList<Remote.RouterReplica> replicas) : IRouter
{
    /// <summary>The replicas' admin URLs from FLOTILLA_ROUTERS; a list that is not admin URLs, or no secret, throws <see cref="ArgumentException"/> saying what to set.</summary>
    public static IReadOnlyList<Uri> ParseReplicas(string? replicas, string? secret)
    {
        if (string.IsNullOrWhiteSpace(replicas))
        {
            return [];
        }
        var admins = new List<Uri>();
        foreach (var text in replicas.Split(',', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries))
        {
            if (!Uri.TryCreate(text, UriKind.Absolute, out var admin) || admin.Scheme != Uri.UriSchemeHttp || admin.AbsolutePath != "/")
            {
                throw new ArgumentException($"FLOTILLA_ROUTERS: '{text}' is not a router replica's admin URL (http://ADDRESS:ADMIN-PORT, comma separated)");
            }
            admins.Add(admin);
        }
        if (string.IsNullOrEmpty(secret))
        {
            throw new ArgumentException("FLOTILLA_ROUTERS names router replicas but FLOTILLA_ROUTERS_SECRET is not set: give it the FLOTILLA_ROUTER_SECRET the replicas were started with");
        }
        return admins;
    }

    /// <summary><paramref name="primary"/> alone when there are no replicas, else the set, started.</summary>
    public static IRouter Compose(IRouter primary, IReadOnlyList<Uri> admins, string secret, Action<string, bool> report)
    {
        if (admins.Count == 0)
        {
            return primary;
        }
        var set = new RouterSet(primary, admins.Select(a => new Remote.RouterReplica(a, secret, report)).ToList());
        set.Start();
        report($"router replicas: {string.Join(", ", admins.Select(a => a.Authority))} serve what this router serves", false);
        return set;
    }

    public IRouter Primary => primary;

    public IReadOnlyList<Remote.RouterReplica> Replicas => replicas;

    public IReadOnlyDictionary<string, int> Endpoints => primary.Endpoints;
    public RoutingTable Table => primary.Table;
    public int? FlagsPort => primary.FlagsPort;

    public string? FlagsAccess => primary.FlagsAccess;

    public void Start()
    {
        foreach (var (service, port) in primary.Endpoints)
        {
            foreach (var replica in replicas)
            {
                replica.Want(service, port);
            }
        }
        foreach (var replica in replicas)
        {
            replica.Start();
        }
    }

    public async Task<int> AddServiceAsync(string service, int? port, CancellationToken cancellationToken = default)
    {
        var opened = await primary.AddServiceAsync(service, port, cancellationToken);
        foreach (var replica in replicas)
        {
            replica.Want(service, opened);
        }
        return opened;
    }

    public async Task RemoveServiceAsync(string service)
    {
        foreach (var replica in replicas)
        {
            replica.Unwant(service);
        }
        await primary.RemoveServiceAsync(service);
    }

    public async Task ApplyAsync(RoutingTable table)
    {
        await Task.WhenAll(replicas.Select(r => r.ApplyAsync(table)).Append(primary.ApplyAsync(table)));
    }

    public async Task<IReadOnlyList<Metrics.RevisionInterval>> TakeMetricsAsync()
    {
        var all = await Task.WhenAll(replicas.Select(r => r.TakeMetricsAsync()).Append(primary.TakeMetricsAsync()));
        return all.SelectMany(intervals => intervals).ToList();
    }

    public Task<Mirror.ParallelReport?> ParallelReportAsync(string service) => primary.ParallelReportAsync(service);

    public Task<string> PrometheusAsync() => primary.PrometheusAsync();

    public async Task<int> ServeFlagsAsync(int? port, string document, string? access, CancellationToken cancellationToken = default)
    {
        var opened = await primary.ServeFlagsAsync(port, document, access, cancellationToken);
        foreach (var replica in replicas)
        {
            replica.Flags((opened, document, access));
        }
        return opened;
    }

    public async Task StopFlagsAsync()
    {
        foreach (var replica in replicas)
        {
            replica.Flags(null);
        }
        await primary.StopFlagsAsync();
    }

    public Task<Functions.DemandReport> WaitForDemandAsync(long after, TimeSpan wait, CancellationToken cancellationToken = default) =>
        primary.WaitForDemandAsync(after, wait, cancellationToken);

    public async Task<bool> WaitForDrainAsync(string instanceId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var drained = await Task.WhenAll(replicas.Select(r => r.WaitForDrainAsync(instanceId, timeout, cancellationToken))
            .Append(primary.WaitForDrainAsync(instanceId, timeout, cancellationToken)));
        return drained.All(d => d);
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var replica in replicas)
        {
            await replica.DisposeAsync();
        }
        await primary.DisposeAsync();
    }
}
