using System.Diagnostics;
using System.Globalization;
using Flotilla.Net;
using Flotilla.Model;
using Flotilla.Runtime;
using Flotilla.Runtime.Docker;

using static Flotilla.Bench.Figures;

namespace Flotilla.Bench;

/// <summary>
/// What a container costs over a process: the same program (python's http.server) started N times
/// on each runtime, timed from the start call to its first passed readiness probe, and to its end
/// after a stop. Sequential, one instance at a time, so the figures are the runtime's own.
/// </summary>
internal static class StartCostBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var reps = Arg(args, "--reps", 10);
        var state = Directory.CreateTempSubdirectory("flotilla-start-cost-").FullName;
        try
        {
            Console.WriteLine($"# start to ready, and stop, of /usr/bin/python3 -m http.server (Debian's, on the host and in the base image): {reps} sequential starts per runtime (ms)");
            Console.WriteLine("runtime\tstart_to_ready_median\tmin\tmax\tstop_median");
            foreach (var runtime in new[] { RuntimeKind.Local, RuntimeKind.Docker })
            {
                await using IRuntime driver = runtime == RuntimeKind.Docker ? new DockerDriver(Path.Combine(state, runtime)) : new LocalProcessDriver(Path.Combine(state, runtime));
                var starts = new List<double[]>();
                for (var rep = 0; rep < reps; rep++)
                {
                    var port = PortAllocator.Next();
                    var launch = new InstanceLaunch($"cost-{rep}", "cost", "r1", ["/usr/bin/python3", "-m", "http.server", "${PORT}", "--bind", "127.0.0.1"],
                        new Dictionary<string, string> { ["PORT"] = port.ToString(CultureInfo.InvariantCulture) }, port, new HttpSpec(null, null, "/"), TimeSpan.FromSeconds(60),
                        Runtime: runtime == RuntimeKind.Local ? null : runtime);
                    var clock = Stopwatch.StartNew();
                    driver.Start(launch);
                    while (driver.Observe().Single(i => i.Id == launch.Id).State is InstanceState.Starting)
                    {
                        await Task.Delay(1);
                    }
                    var ready = clock.Elapsed.TotalMilliseconds;
                    clock.Restart();
                    await driver.StopAsync(launch.Id, TimeSpan.FromSeconds(10), "bench");
                    starts.Add([ready, clock.Elapsed.TotalMilliseconds]);
                    driver.Forget(launch.Id);
                }
                Console.WriteLine($"{runtime}\t{Median(starts, 0)}\t{starts.Min(s => s[0]):0.0}\t{starts.Max(s => s[0]):0.0}\t{Median(starts, 1)}");
            }
        }
        finally
        {
            Directory.Delete(state, recursive: true);
        }
        return 0;
    }
}
