using Stopwatch = System.Diagnostics.Stopwatch;
using Flotilla.Controllers.InstanceSets;
using Flotilla.Events;
using Flotilla.Model;
using Flotilla.Router;
using Flotilla.Runtime;

namespace Flotilla.Bench;

/// <summary>
/// One full reconcile pass of the instance-set controller (observe, plan, forget, stop, route
/// table, start) over 1,000 services × 5 instances on a simulated runtime: instances are records,
/// ready at once; the router only keeps the table. Three situations: converged; 10% of instances
/// just died; 10% of services just got a new revision.
/// </summary>
internal static class ReconcileBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var services = args.Length > 0 ? int.Parse(args[0], System.Globalization.CultureInfo.InvariantCulture) : 1000;
        var perService = args.Length > 1 ? int.Parse(args[1], System.Globalization.CultureInfo.InvariantCulture) : 5;
        const int Reps = 20;
        Console.WriteLine($"# reconcile pass, {services} services × {perService} instances, simulated runtime, {Reps} reps each (after 5 warm-up passes)");
        Console.WriteLine("situation\tp50_ms\tmax_ms\tstarts\tstops");
        foreach (var situation in new[] { "converged", "10% of instances died", "10% of services new revision" })
        {
            var timings = new List<double>();
            var (starts, stops) = (0, 0);
            for (var rep = 0; rep < Reps + 5; rep++)
            {
                var driver = new SimulatedDriver();
                var router = new TableOnlyRouter();
                var controller = new InstanceSetController(driver, router, new EventLog(TimeProvider.System, 1000));
                var desired = Enumerable.Range(0, services).Select(i => Service($"svc{i:0000}", perService, "rev1")).ToList();
                controller.SetDesired(desired);
                await controller.ReconcileOnceAsync();   // brings up every instance
                await controller.ReconcileOnceAsync();   // converged
                switch (situation)
                {
                    case "10% of instances died":
                        driver.KillEvery(10);
                        break;
                    case "10% of services new revision":
                        controller.SetDesired(desired.Select((d, i) => i % 10 == 0 ? d with { Revision = "rev2" } : d).ToList());
                        break;
                }
                (driver.Starts, driver.Stops) = (0, 0);
                var clock = Stopwatch.StartNew();
                await controller.ReconcileOnceAsync();
                clock.Stop();
                if (rep >= 5)
                {
                    timings.Add(clock.Elapsed.TotalMilliseconds);
                    (starts, stops) = (driver.Starts, driver.Stops);
                }
            }
            timings.Sort();
            Console.WriteLine($"{situation}\t{timings[timings.Count / 2]:0.0}\t{timings[^1]:0.0}\t{starts}\t{stops}");
        }
        return 0;
    }

    private static DesiredService Service(string name, int instances, string revision) =>
        new(name, revision, instances, ["app"], new Dictionary<string, string> { ["X"] = "1" }, new HttpSpec(null, "/healthz", null),
            TimeoutsSpec.Default, RestartSpec.Default, []);

    /// <summary>Instances as records: ready the moment they start, gone the moment they stop.</summary>
    private sealed class SimulatedDriver : IRuntimeDriver
    {
        private readonly Dictionary<string, InstanceStatus> _instances = new(StringComparer.Ordinal);
        public int Starts;
        public int Stops;

        public WakeSignal Changed { get; } = new();

        public IReadOnlyList<InstanceStatus> Observe()
        {
            lock (_instances)
            {
                return _instances.Values.ToList();
            }
        }

        public void Start(InstanceLaunch launch)
        {
            Starts++;
            lock (_instances)
            {
                _instances[launch.Id] = new InstanceStatus(launch.Id, launch.Service, launch.Revision, 1, null, launch.Port, InstanceState.Ready,
                    DateTimeOffset.UtcNow, DateTimeOffset.UtcNow, true, false, null, null, "/dev/null");
            }
        }

        public Task StopAsync(string instanceId, TimeSpan grace, string reason)
        {
            Interlocked.Increment(ref Stops);
            lock (_instances)
            {
                _instances[instanceId] = _instances[instanceId] with { State = InstanceState.Exited, StopRequested = true };
            }
            return Task.CompletedTask;
        }

        public void Forget(string instanceId)
        {
            lock (_instances)
            {
                _instances.Remove(instanceId);
            }
        }

        public void KillEvery(int nth)
        {
            lock (_instances)
            {
                foreach (var id in _instances.Keys.Where((_, i) => i % nth == 0).ToList())
                {
                    _instances[id] = _instances[id] with { State = InstanceState.Exited, ExitCode = 137, Reason = "killed by SIGKILL" };
                }
            }
        }

        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }

    private sealed class TableOnlyRouter : IRouter
    {
        public IReadOnlyDictionary<string, int> Endpoints { get; } = new Dictionary<string, int>();
        public RoutingTable Table { get; private set; } = RoutingTable.Empty;
        public Task<int> AddServiceAsync(string service, int? port, CancellationToken cancellationToken = default) => Task.FromResult(0);
        public Task RemoveServiceAsync(string service) => Task.CompletedTask;

        public Task ApplyAsync(RoutingTable table)
        {
            Table = table;
            return Task.CompletedTask;
        }

        public Task<bool> WaitForDrainAsync(string instanceId, TimeSpan timeout, CancellationToken cancellationToken = default) => Task.FromResult(true);
        public Task<Flotilla.Router.Functions.DemandReport> WaitForDemandAsync(long after, TimeSpan wait, CancellationToken cancellationToken = default) => Task.FromResult(Flotilla.Router.Functions.DemandReport.Empty);
        public Task<IReadOnlyList<Flotilla.Router.Metrics.RevisionInterval>> TakeMetricsAsync() => Task.FromResult<IReadOnlyList<Flotilla.Router.Metrics.RevisionInterval>>([]);
        public Task<string> PrometheusAsync() => Task.FromResult("");
        public Task<Flotilla.Router.Mirror.ParallelReport?> ParallelReportAsync(string service) => Task.FromResult<Flotilla.Router.Mirror.ParallelReport?>(null);
        public int? FlagsPort => null;
        public string? FlagsAccess => null;
        public Task<int> ServeFlagsAsync(int? port, string document, string? access, CancellationToken cancellationToken = default) => Task.FromResult(0);
        public Task StopFlagsAsync() => Task.CompletedTask;
        public ValueTask DisposeAsync() => ValueTask.CompletedTask;
    }
}
