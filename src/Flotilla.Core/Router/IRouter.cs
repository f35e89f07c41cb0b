namespace Flotilla.Router;

/// <summary>
/// What the control plane needs of the data plane: endpoints per service, whole routing tables,
/// and drain waits. <see cref="RouterHost"/> is the router in this process (<c>flotilla up</c>);
/// <see cref="Remote.RouterClient"/> drives a router process that outlives the control plane.
/// </summary>
public interface IRouter : IAsyncDisposable
{
    /// <summary>The port each service's endpoint listens on.</summary>
    IReadOnlyDictionary<string, int> Endpoints { get; }

    /// <summary>The last table the router was given.</summary>
    RoutingTable Table { get; }

    /// <summary>Opens the endpoint of a service (idempotent); returns its port or throws <see cref="EndpointBindException"/>.</summary>
    Task<int> AddServiceAsync(string service, int? port, CancellationToken cancellationToken = default);

    Task RemoveServiceAsync(string service);

    /// <summary>Swaps in a new table.</summary>
    Task ApplyAsync(RoutingTable table);

    /// <summary>Requests per service and revision since the last call (one caller: the control plane's rollout watch).</summary>
    Task<IReadOnlyList<Metrics.RevisionInterval>> TakeMetricsAsync();

    /// <summary>Where a service's parallel run stands: compared, mismatches, fields, noise; null when it never had one.</summary>
    Task<Mirror.ParallelReport?> ParallelReportAsync(string service);

    /// <summary>Cumulative request counts and latency histograms per service and revision, in Prometheus' text format.</summary>
    Task<string> PrometheusAsync();

    /// <summary>The port of the flag service (OFREP), when it serves.</summary>
    int? FlagsPort { get; }

    /// <summary>The path segment the flag service answers under (the environment's flag access key), or null: at the root.</summary>
    string? FlagsAccess { get; }

    /// <summary>
    /// Serves this flagd document over OFREP, opening the flag port on the first call (null: any free
    /// one; another port than the open one moves it); returns the port or throws <see cref="EndpointBindException"/>.
    /// With an <paramref name="access"/> key the flags answer only under <c>/{access}/ofrep/...</c>.
    /// </summary>
    Task<int> ServeFlagsAsync(int? port, string document, string? access, CancellationToken cancellationToken = default);

    /// <summary>Closes the flag port (the spec no longer declares flags).</summary>
    Task StopFlagsAsync();

    /// <summary>
    /// Every function's demand since the last call; waits up to <paramref name="wait"/> for a request
    /// to be held for want of an instance (a sequence above <paramref name="after"/>), and returns
    /// at once when one was held already (one caller: the control plane's function autoscaler).
    /// </summary>
    Task<Functions.DemandReport> WaitForDemandAsync(long after, TimeSpan wait, CancellationToken cancellationToken = default);

    /// <summary>Waits until the instance has no request in flight through the router, or the timeout passes.</summary>
    Task<bool> WaitForDrainAsync(string instanceId, TimeSpan timeout, CancellationToken cancellationToken = default);
}
