using System.Diagnostics;
using Flotilla.Hosting;
using Flotilla.Model;
using Flotilla.Runtime;

using static Flotilla.Bench.Figures;

namespace Flotilla.Bench;

/// <summary>
/// kill -9 of one instance under steady load (wrk, paced), timed from inside: when the exit is
/// seen (detection), when the replacement is ready, when the router sends it traffic. The app is
/// the peers' benchmark app, so the figures compare with Swarm's (../shared/bench-peers).
/// </summary>
internal static class SelfHealBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var reps = Arg(args, "--reps", 10);
        var instances = Arg(args, "--instances", 3);
        var connections = Arg(args, "--connections", 20);
        var delayMs = Arg(args, "--delay-ms", 20);
        var runtime = args.SkipWhile(a => a != "--runtime").Skip(1).FirstOrDefault() ?? RuntimeKind.Local;
        var app = Path.GetFullPath(Environment.GetEnvironmentVariable("ANCHOR_APP") ?? "../shared/bench-peers/app");
        var paced = Path.GetFullPath(Environment.GetEnvironmentVariable("PACED_LUA") ?? "../shared/bench-peers/wrk/paced.lua");
        var state = Path.Combine(Path.GetTempPath(), $"flotilla-bench-{Environment.ProcessId}");

        var spec = SpecLoader.Parse($$"""
            name: bench
            runtime: {{runtime}}
            services:
              app:
                build: {{app}}
                instances: {{instances}}
                http: { health: /healthz, ready: /healthz }
                env: { APP_VERSION: v1 }
            """, Path.Combine(app, "flotilla.yaml"));
        var host = await ControlPlane.StartAsync(new ControlPlaneOptions(state));
        await host.ApplyAsync(spec, "bench");
        try
        {
            await host.WaitUntilConvergedAsync(TimeSpan.FromMinutes(2));
            var url = host.Status().Services[0].Endpoint + "/";
            Console.WriteLine($"# self-healing on runtime {runtime}: {instances} instances of the peers' app, wrk -c{connections} paced {delayMs} ms (~{connections * 1000 / (delayMs + 1)} req/s), kill -9 at 4 s of 12 s, {reps} reps");
            Console.WriteLine("rep\tdetect_ms\tready_ms\tin_rotation_ms\trequests\tfailed");
            var rows = new List<double[]>();
            for (var rep = 1; rep <= reps; rep++)
            {
                await host.WaitUntilConvergedAsync(TimeSpan.FromMinutes(1));
                var load = Wrk.RunAsync(url, connections, TimeSpan.FromSeconds(12), paced, delayMs);
                await Task.Delay(TimeSpan.FromSeconds(4));
                var (detect, ready, rotation) = await KillAndTimeAsync(host, runtime);
                var result = await load;
                rows.Add([detect, ready, rotation, result.Requests, result.Failed]);
                Console.WriteLine(string.Join('\t', new object[] { rep, detect, ready, rotation, result.Requests, result.Failed }.Select(Format)));
                await Task.Delay(TimeSpan.FromSeconds(11));   // past the 10 s stable run, so each kill is a "first" failure
            }
            Console.WriteLine($"median\t{Median(rows, 0)}\t{Median(rows, 1)}\t{Median(rows, 2)}\t{Median(rows, 3)}\t{Median(rows, 4)}");
            Console.WriteLine($"max\t{rows.Max(r => r[0]):0.0}\t{rows.Max(r => r[1]):0.0}\t{rows.Max(r => r[2]):0.0}\t\t{rows.Max(r => r[4])}");
            Console.WriteLine($"failed requests in all reps: {rows.Sum(r => r[4])}");
        }
        finally
        {
            await host.StopDataPlaneAsync();
            await host.DisposeAsync();
            Directory.Delete(state, recursive: true);
        }
        return 0;
    }

    /// <summary>Kills one ready instance; returns ms from the kill to detection, replacement ready, and in rotation.</summary>
    private static async Task<(double Detect, double Ready, double Rotation)> KillAndTimeAsync(ControlPlane host, string runtime)
    {
        var before = host.Status().Services[0].Instances;
        var victim = before.First(i => i.State == InstanceState.Ready);
        var known = before.Select(i => i.Id).ToHashSet();
        var clock = Stopwatch.StartNew();
        // A container's first process (tini, seen from the host) takes the container with it.
        _ = runtime == RuntimeKind.Docker ? Posix.Signal(victim.Pid, Posix.SIGKILL) : Posix.SignalGroup(victim.Pid, Posix.SIGKILL);
        double detect = -1, ready = -1, rotation = -1;
        while (clock.Elapsed < TimeSpan.FromSeconds(30) && (detect < 0 || ready < 0 || rotation < 0))
        {
            var instances = host.Status().Services[0].Instances;
            var now = clock.Elapsed.TotalMilliseconds;
            if (detect < 0 && instances.All(i => i.Id != victim.Id || i.State == InstanceState.Exited))
            {
                detect = now;
            }
            var replacement = instances.FirstOrDefault(i => !known.Contains(i.Id));
            if (ready < 0 && replacement is { State: InstanceState.Ready })
            {
                ready = now;
            }
            if (rotation < 0 && replacement is not null && host.Routes.Services["app"].Any(d => d.InstanceId == replacement.Id))
            {
                rotation = now;
            }
            await Task.Delay(1);
        }
        return (detect, ready, rotation);
    }
}
