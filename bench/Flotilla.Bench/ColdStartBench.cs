using System.Diagnostics;
using System.Net;
using Flotilla.Hosting;

using static Flotilla.Bench.Figures;

namespace Flotilla.Bench;

/// <summary>
/// A function's cold start as lambda-perf measures it: N forced cold starts (wait until the function
/// is at zero, then one request), timed from sending the request to its first byte, beside warm calls
/// of the same function; then a burst of concurrent requests at zero (errors, time to the last answer,
/// instances it scaled to); then how long after the last request the last instance is gone.
/// The functions: python3's http.server and the peers' .NET minimal API (AnchorApp, self-contained).
/// </summary>
internal static class ColdStartBench
{
    private const string PythonApp = """
        import os, sys
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        class H(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_GET(self):
                self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
            disable_nagle_algorithm = True
            def log_message(self, *a): pass
        ThreadingHTTPServer.daemon_threads = True
        ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), H).serve_forever()
        """;

    public static async Task<int> RunAsync(string[] args)
    {
        var reps = Arg(args, "--reps", 20);
        var burst = Arg(args, "--burst", 500);
        var anchor = Environment.GetEnvironmentVariable("ANCHOR_APP") ?? Path.GetFullPath("../shared/bench-peers/app");
        var dir = Directory.CreateTempSubdirectory("flotilla-coldstart-").FullName;
        Directory.CreateDirectory(Path.Combine(dir, "fn"));
        File.WriteAllText(Path.Combine(dir, "fn", "app.py"), PythonApp);
        var functions = new List<(string Name, string Body)>
        {
            ("python", $"command: [python3, \"${{ARTIFACT}}/app.py\", \"${{PORT}}\"]\n    files: {Path.Combine(dir, "fn")}"),
        };
        if (Directory.Exists(anchor))
        {
            functions.Add(("dotnet", $"build: {anchor}\n    http: {{ ready: /healthz }}"));
        }
        try
        {
            await using var plane = await ControlPlane.StartAsync(new ControlPlaneOptions(Path.Combine(dir, "data")));
            using var client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromSeconds(1), MaxConnectionsPerServer = 1000 }) { Timeout = TimeSpan.FromSeconds(60) };
            Console.WriteLine($"# cold start: {reps} forced cold starts per function (request sent → first byte), warm calls beside; a burst of {burst} at zero; ms");
            Console.WriteLine("function\tcold_median\tcold_p99\tcold_min\tinstance_start_to_ready_median\tflotilla_share_median\twarm_median\tburst_errors\tburst_last_answer\tburst_instances\tzero_after_idle");
            foreach (var (name, body) in functions)
            {
                var yaml = $"name: coldstart\nfunctions:\n  fn:\n    {body}\n    trigger: {{ http: / }}\n    scale: {{ min: 0, max: 10, concurrency: 50, idle: 1s }}\n";
                var file = Path.Combine(dir, "flotilla.yaml");
                File.WriteAllText(file, yaml);
                await plane.ApplyAsync(new ApplyRequest(yaml, file, null, null, "bench"));
                var url = plane.Status().Services.Single().Endpoint + "/";
                var cold = new List<double[]>();
                var warm = new List<double[]>();
                double idleToZero = 0;
                for (var rep = 0; rep < reps; rep++)
                {
                    await AtZeroAsync(plane);
                    cold.Add([await FirstByteAsync(client, url)]);
                    warm.Add([await FirstByteAsync(client, url)]);
                    // What the instance itself took (spawn to its first passed probe): the rest of the cold start is Flotilla's.
                    var instance = plane.Status().Services.Single().Instances.Where(i => i.ReadySince is not null).MaxBy(i => i.StartedAt);
                    var startToReady = instance is null ? double.NaN : (instance.ReadySince!.Value - instance.StartedAt).TotalMilliseconds;
                    cold[^1] = [cold[^1][0], startToReady, cold[^1][0] - startToReady];
                    var lastAnswer = Stopwatch.StartNew();
                    await AtZeroAsync(plane);
                    idleToZero = lastAnswer.Elapsed.TotalMilliseconds - 1000;
                }
                await AtZeroAsync(plane);
                var clock = Stopwatch.StartNew();
                var peak = 0;
                using var watch = new CancellationTokenSource();
                var watching = Task.Run(async () =>
                {
                    while (!watch.IsCancellationRequested)
                    {
                        peak = Math.Max(peak, plane.Status().Services.Single().Instances.Count(i => i.IsLive));
                        await Task.Delay(20);
                    }
                });
                var answers = await Task.WhenAll(Enumerable.Range(0, burst).Select(async _ =>
                {
                    try
                    {
                        using var response = await client.GetAsync(url);
                        return response.StatusCode == HttpStatusCode.OK;
                    }
                    catch (HttpRequestException)
                    {
                        return false;
                    }
                }));
                var last = clock.Elapsed.TotalMilliseconds;
                await watch.CancelAsync();
                await watching;
                var sorted = cold.Select(c => c[0]).Order().ToList();
                Console.WriteLine($"{name}\t{Median(cold, 0)}\t{sorted[(int)Math.Ceiling(0.99 * sorted.Count) - 1]:0.0}\t{sorted[0]:0.0}\t{Median(cold, 1)}\t{Median(cold, 2)}\t{Median(warm, 0)}\t{answers.Count(a => !a)}\t{last:0}\t{peak}\t{idleToZero:0}");
            }
            await plane.StopDataPlaneAsync();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        return 0;
    }

    /// <summary>Waits (up to a minute) until the service (the only one when null) runs no instance.</summary>
    internal static async Task AtZeroAsync(ControlPlane plane, string? name = null)
    {
        var deadline = Stopwatch.StartNew();
        while (plane.Status().Services.Single(s => name is null || s.Name == name).Instances.Any(i => i.State != Runtime.InstanceState.Exited) && deadline.Elapsed < TimeSpan.FromSeconds(60))
        {
            await Task.Delay(5);
        }
    }

    /// <summary>Milliseconds from sending a GET to its response headers.</summary>
    internal static async Task<double> FirstByteAsync(HttpClient client, string url)
    {
        var clock = Stopwatch.StartNew();
        using var response = await client.GetAsync(url, HttpCompletionOption.ResponseHeadersRead);
        var elapsed = clock.Elapsed.TotalMilliseconds;
        response.EnsureSuccessStatusCode();
        return elapsed;
    }
}
