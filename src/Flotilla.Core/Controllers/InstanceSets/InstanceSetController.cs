using System.Collections.Concurrent;
using System.Security.Cryptography;
using Flotilla.Events;
using Flotilla.Net;
using Flotilla.Router;
using Flotilla.Runtime;

namespace Flotilla.Controllers.InstanceSets;

/// <summary>
/// Keeps each service at its desired number of ready instances of its desired revision.
/// Level-triggered: any change (an instance exits, becomes ready, the spec changes) only wakes
/// the loop, which re-reads everything, plans, and acts. Stops run in the background so one slow
/// drain never delays replacing a dead instance.
/// </summary>
public sealed class InstanceSetController : IAsyncDisposable
{
    private static readonly TimeSpan Resync = TimeSpan.FromSeconds(1);
    private readonly IRuntimeDriver _driver;
    private readonly IRouter _router;
    private readonly TimeProvider _time;
    private readonly EventLog _events;
    private readonly WakeSignal _wake = new();
    private readonly ConcurrentDictionary<string, Task> _stops = new(StringComparer.Ordinal);
    private readonly CancellationTokenSource _shutdown = new();
    private IReadOnlyDictionary<string, ServiceHealth> _health = new Dictionary<string, ServiceHealth>();
    private IReadOnlyList<DesiredService> _desired = [];
    private IReadOnlyDictionary<string, string> _waiting = new Dictionary<string, string>();
    private Task _loop = Task.CompletedTask;

    public InstanceSetController(IRuntimeDriver driver, IRouter router, EventLog events, TimeProvider? time = null)
    {
        _driver = driver;
        _router = router;
        _events = events;
        _time = time ?? TimeProvider.System;
    }

    private long _activePasses;
    private long _passes;

    /// <summary>Counts every pass that changed something; a converged system stops counting.</summary>
    public long ActivePasses => Interlocked.Read(ref _activePasses);

    /// <summary>Counts every pass, idle ones too: that passes ran and did nothing is how convergence shows.</summary>
    public long Passes => Interlocked.Read(ref _passes);

    public IReadOnlyList<DesiredService> Desired => Volatile.Read(ref _desired);
    public IReadOnlyDictionary<string, string> Waiting => Volatile.Read(ref _waiting);
    public IReadOnlyDictionary<string, ServiceHealth> Health => Volatile.Read(ref _health);

    public void Start() => _loop = Task.Run(() => RunAsync(_shutdown.Token));

    /// <summary>Replaces the desired state whole and wakes the loop.</summary>
    public void SetDesired(IReadOnlyList<DesiredService> desired)
    {
        Volatile.Write(ref _desired, desired);
        _wake.Set();
    }

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        while (!cancellationToken.IsCancellationRequested)
        {
            DateTimeOffset? wakeAt = null;
            try
            {
                wakeAt = await ReconcileOnceAsync();
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                // A failed pass must not end the loop: say so, and try again at the next resync.
                _events.Record("controller", $"reconcile pass failed: {e.GetType().Name}: {e.Message}", warning: true);
            }
            var wait = wakeAt is { } at ? TimeSpan.FromTicks(Math.Clamp((at - _time.GetUtcNow()).Ticks, 0, Resync.Ticks)) : Resync;
            await Task.WhenAny(_wake.WaitAsync(wait, cancellationToken), _driver.Changed.WaitAsync(wait, cancellationToken));
        }
    }

    /// <summary>One reconcile pass (run by the loop; by a benchmark only when the loop is not started); returns when to look again at the latest.</summary>
    internal async Task<DateTimeOffset?> ReconcileOnceAsync()
    {
        var now = _time.GetUtcNow();
        var observed = _driver.Observe()
            .Select(i => _stops.ContainsKey(i.Id) && i.State != InstanceState.Exited ? i with { State = InstanceState.Stopping, StopRequested = true } : i)
            .ToList();
        var desired = Desired;
        var plan = InstanceSetPlanner.Plan(desired, observed, _health, now);

        Volatile.Write(ref _health, plan.Health);
        Forget(plan.Forgets);
        await StopAsync(plan.Stops, desired);
        var byName = desired.ToDictionary(d => d.Name, StringComparer.Ordinal);
        foreach (var start in plan.Starts)
        {
            var service = byName[start.Service];
            var launch = BuildLaunch(service.Sides.First(side => side.Revision == start.Revision), start.Zone);
            _events.Record(launch.Id, $"starting revision {launch.Revision} on port {launch.Port}{(launch.Zone is null ? "" : $" in zone {launch.Zone}")}");
            _driver.Start(launch);
        }
        RecordWaiting(plan.Waiting);
        if (!plan.IsEmpty)
        {
            Interlocked.Increment(ref _activePasses);
        }
        Interlocked.Increment(ref _passes);
        return plan.WakeAt;
    }

    private void Forget(IReadOnlyList<ForgetInstance> forgets)
    {
        foreach (var forget in forgets)
        {
            if (forget.Failure)
            {
                _events.Record(forget.InstanceId, $"failed: {forget.Reason ?? "exited"}", warning: true);
            }
            _stops.TryRemove(forget.InstanceId, out _);
            _driver.Forget(forget.InstanceId);
        }
    }

    private async Task StopAsync(IReadOnlyList<StopInstance> stops, IReadOnlyList<DesiredService> desired)
    {
        foreach (var stop in stops)
        {
            _events.Record(stop.InstanceId, $"stopping: {stop.Reason}", stop.Failure);
            _stops[stop.InstanceId] = Task.CompletedTask;
        }
        // Out of rotation before anything waits on a drain.
        await UpdateRoutesAsync();
        foreach (var stop in stops)
        {
            var timeouts = desired.FirstOrDefault(d => d.Name == stop.Service)?.Timeouts ?? Model.TimeoutsSpec.Default;
            _stops[stop.InstanceId] = DrainAndStopAsync(stop, timeouts);
        }
    }

    /// <summary>Publishes why services wait, with one event per new state of waiting (e.g. another failure in a row), not per pass.</summary>
    private void RecordWaiting(IReadOnlyDictionary<string, string> waiting)
    {
        foreach (var (service, reason) in waiting)
        {
            if (Waiting.GetValueOrDefault(service)?.Split(',')[0] != reason.Split(',')[0])
            {
                _events.Record(service, reason, warning: reason.StartsWith("crash", StringComparison.Ordinal));
            }
        }
        Volatile.Write(ref _waiting, waiting);
    }

    /// <summary>Every ready instance not on its way out, per endpoint; the rollouts' splits and preview endpoints from the desired state.</summary>
    private async Task UpdateRoutesAsync()
    {
        var ready = _driver.Observe()
            .Where(i => i.InRotation && !_stops.ContainsKey(i.Id))
            .GroupBy(i => i.Service)
            .ToDictionary(g => g.Key, g => (IReadOnlyList<RouteDestination>)g.OrderBy(i => i.Id, StringComparer.Ordinal).Select(i => new RouteDestination(i.Id, i.Port, i.Revision, i.Host)).ToList(), StringComparer.Ordinal);
        var splits = new Dictionary<string, TrafficSplit>(StringComparer.Ordinal);
        var mirrors = new Dictionary<string, Router.Mirror.MirrorPolicy>(StringComparer.Ordinal);
        var functions = new Dictionary<string, Router.Functions.FunctionRoute>(StringComparer.Ordinal);
        foreach (var service in Desired)
        {
            if (service.Function is { } function)
            {
                functions[service.Name] = new Router.Functions.FunctionRoute(function.Trigger.Http ?? "/", function.Hold.Pending, function.Hold.Budget, function.Timeout);
            }
            if (service.Mirror is { } mirror)
            {
                mirrors[service.Name] = mirror;
            }
            if (service.Traffic is { } split)
            {
                splits[service.Name] = split;
            }
            if (service.Preview)
            {
                ready[RoutingTable.PreviewOf(service.Name)] = ready.GetValueOrDefault(service.Name, []).Where(r => r.Revision == service.Revision).ToList();
            }
        }
        var table = new RoutingTable(ready, splits, mirrors, functions);
        if (!table.SameAs(_router.Table))
        {
            await _router.ApplyAsync(table);
        }
    }

    private async Task DrainAndStopAsync(StopInstance stop, Model.TimeoutsSpec timeouts)
    {
        try
        {
            await _router.WaitForDrainAsync(stop.InstanceId, timeouts.Drain);
            await _driver.StopAsync(stop.InstanceId, timeouts.Stop, stop.Reason);
        }
        finally
        {
            _wake.Set();
        }
    }

    private static InstanceLaunch BuildLaunch(DesiredService service, string? zone)
    {
        var id = $"{service.Name}-{service.Revision[..Math.Min(5, service.Revision.Length)]}-{Convert.ToHexStringLower(RandomNumberGenerator.GetBytes(3))}";
        var port = PortAllocator.Next();
        var env = new Dictionary<string, string>(service.Env, StringComparer.Ordinal)
        {
            ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}",
            ["FLOTILLA_INSTANCE"] = id,
        };
        if (zone is not null)
        {
            env["FLOTILLA_ZONE"] = zone;
        }
        return new InstanceLaunch(id, service.Name, service.Revision, service.Command, env, port, service.Http, service.Timeouts.Start, service.Resources, zone,
            service.SecretRefs.Count == 0 ? null : service.SecretRefs, service.Runtime, service.Image, Awaited: service.Function is not null);
    }

    /// <summary>Stops the loop; running instances are left as they are (see <see cref="StopAllAsync"/>).</summary>
    public async ValueTask DisposeAsync()
    {
        if (_shutdown.IsCancellationRequested)
        {
            return;
        }
        await _shutdown.CancelAsync();
        try
        {
            await _loop;
        }
        catch (OperationCanceledException)
        {
        }
        await Task.WhenAll(_stops.Values);
    }

    /// <summary>Stops the loop, then every instance: out of rotation, drained, stopped.</summary>
    public async Task StopAllAsync()
    {
        await DisposeAsync();
        var live = _driver.Observe().Where(i => i.State != InstanceState.Exited).ToList();
        foreach (var instance in live)
        {
            _stops.TryAdd(instance.Id, Task.CompletedTask);
        }
        await UpdateRoutesAsync();
        var timeouts = Desired.ToDictionary(d => d.Name, d => d.Timeouts);
        await Task.WhenAll(live.Select(i => DrainAndStopAsync(
            new StopInstance(i.Id, i.Service, "shutting down", false, false),
            timeouts.GetValueOrDefault(i.Service) ?? Model.TimeoutsSpec.Default)).Concat(_stops.Values));
    }
}
