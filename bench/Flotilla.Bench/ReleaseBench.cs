using System.Diagnostics;
using System.Text.Json.Nodes;
using Flotilla.Hosting;
using Flotilla.Model;
using static Flotilla.Bench.Figures;

namespace Flotilla.Bench;

/// <summary>
/// A bad canary under steady load, aborted by analysis: how long after the failing verdict the
/// last request still went to the canary, and how many requests reached it in all. The verdict
/// is the control plane's "aborted" event; every request records when it was sent and which
/// revision answered, on the same clock.
/// </summary>
internal static class ReleaseBench
{
    public static async Task<int> RunAsync(string[] args)
    {
        var reps = Arg(args, "--reps", 5);
        var loops = Arg(args, "--connections", 8);
        var app = Path.GetFullPath(Environment.GetEnvironmentVariable("REVIEWS_APP") ?? "examples/shop/services/Reviews");
        var state = Path.Combine(Path.GetTempPath(), $"flotilla-bench-release-{Environment.ProcessId}");
        string Spec(string version, bool bad) => $$"""
            name: bench
            services:
              reviews:
                command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
                files: {{app}}
                instances: 3
                http: { health: /healthz, ready: /ready }
                env: { REVIEWS_VERSION: "{{version}}"{{(bad ? ", REVIEWS_FAIL_RATE: \"0.2\"" : "")}} }
                rollout:
                  strategy: canary
                  steps:
                    - weight: 10
                    - analysis: { interval: 2s, count: 3, minRequests: 20, successRate: ">= 95%" }
                    - weight: 50
            """;
        // --router-process: the router in its own process as `flotilla server` runs it (table swaps over its admin API).
        var flotilla = Array.IndexOf(args, "--router-process") is var at and >= 0 ? Path.GetFullPath(args[at + 1]) : null;
        ControlPlane host;
        try
        {
            host = await ControlPlane.StartAsync(new ControlPlaneOptions(state, flotilla is null ? null : [flotilla]));
        }
        catch
        {
            Directory.Delete(state, recursive: true);
            throw;
        }
        try
        {
            await host.ApplyAsync(SpecLoader.Parse(Spec("1.0.0", false), Path.Combine(app, "flotilla.yaml")), "bench");
            await host.WaitUntilConvergedAsync(TimeSpan.FromMinutes(2));
            var url = host.Status().Services[0].Endpoint + "/reviews/1";
            Console.WriteLine($"# bad canary (20% of its answers 500) at 10% of traffic, {loops} client loops, analysis every 2 s, router {(flotilla is null ? "in-process" : "in its own process")}; {reps} reps");
            Console.WriteLine("rep\tverdict_after_ms\tlast_canary_send_after_verdict_ms\tcanary_requests\tcanary_failed\tstable_failed\trequests");
            var rows = new List<double[]>();
            for (var rep = 1; rep <= reps; rep++)
            {
                using var load = new Load(url, loops);
                await Task.Delay(1000);
                var began = DateTimeOffset.UtcNow;
                await host.ApplyAsync(SpecLoader.Parse(Spec($"2.0.{rep}", true), Path.Combine(app, "flotilla.yaml")), "bench");
                var deadline = Stopwatch.StartNew();
                while (host.Rollout("reviews").State != "degraded" && deadline.Elapsed < TimeSpan.FromMinutes(2))
                {
                    await Task.Delay(20);
                }
                await Task.Delay(2000);
                var answers = await load.StopAsync();
                var verdict = host.Events.Since(0).Last(e => e.Message.StartsWith("aborted:", StringComparison.Ordinal)).At;
                var canary = answers.Where(a => a.Version == $"reviews 2.0.{rep}").ToList();
                var lastCanarySend = canary.Count == 0 ? verdict : canary.Max(a => a.SentAt);
                var row = new[]
                {
                    (verdict - began).TotalMilliseconds, Math.Max(0, (lastCanarySend - verdict).TotalMilliseconds), canary.Count, canary.Count(a => !a.Ok),
                    answers.Count(a => !a.Ok && a.Version != $"reviews 2.0.{rep}"), answers.Count,
                };
                rows.Add(row);
                Console.WriteLine(string.Join('\t', new object[] { rep }.Concat(row.Cast<object>()).Select(Format)));
                // Back to the good version for the next rep: a return to the stable revision, no steps.
                await host.ApplyAsync(SpecLoader.Parse(Spec("1.0.0", false), Path.Combine(app, "flotilla.yaml")), "bench");
                await host.WaitUntilConvergedAsync(TimeSpan.FromMinutes(1));
            }
            Console.WriteLine($"median\t{Median(rows, 0)}\t{Median(rows, 1)}\t{Median(rows, 2)}\t{Median(rows, 3)}\t{Median(rows, 4)}\t{Median(rows, 5)}");
            Console.WriteLine($"max\t{rows.Max(r => r[0]):0.0}\t{rows.Max(r => r[1]):0.0}\t{rows.Max(r => r[2])}\t{rows.Max(r => r[3])}\t{rows.Max(r => r[4])}");
        }
        finally
        {
            await host.StopDataPlaneAsync();
            await host.DisposeAsync();
            Directory.Delete(state, recursive: true);
        }
        return 0;
    }

    private sealed record Answer(DateTimeOffset SentAt, string Version, bool Ok);

    /// <summary>Client loops without cookies (each request a new user), recording every answer.</summary>
    private sealed class Load : IDisposable
    {
        private readonly HttpClient _client = new(new SocketsHttpHandler { UseCookies = false }) { Timeout = TimeSpan.FromSeconds(10) };
        private readonly CancellationTokenSource _stop = new();
        private readonly List<Answer> _answers = [];
        private readonly Task[] _loops;

        public Load(string url, int loops) => _loops = Enumerable.Range(0, loops).Select(_ => Task.Run(() => LoopAsync(url))).ToArray();

        private async Task LoopAsync(string url)
        {
            while (!_stop.IsCancellationRequested)
            {
                var sent = DateTimeOffset.UtcNow;
                Answer answer;
                try
                {
                    using var response = await _client.GetAsync(url, _stop.Token);
                    var body = JsonNode.Parse(await response.Content.ReadAsStringAsync(_stop.Token));
                    answer = new Answer(sent, (string?)body?["version"] ?? "?", response.IsSuccessStatusCode);
                }
                catch (OperationCanceledException) when (_stop.IsCancellationRequested)
                {
                    return;
                }
                catch (Exception e) when (e is HttpRequestException or System.Text.Json.JsonException)
                {
                    answer = new Answer(sent, "?", false);
                }
                lock (_answers)
                {
                    _answers.Add(answer);
                }
            }
        }

        public async Task<IReadOnlyList<Answer>> StopAsync()
        {
            await _stop.CancelAsync();
            await Task.WhenAll(_loops);
            lock (_answers)
            {
                return [.. _answers];
            }
        }

        public void Dispose()
        {
            _stop.Cancel();
            _client.Dispose();
            _stop.Dispose();
        }
    }
}
