using System.Net;
using Flotilla.Hosting;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Functions;

/// <summary>Functions for real: a control plane, its router, a Python function started from zero by requests and stopped when idle.</summary>
[Collection(ProcessHeavy.Name)]
public sealed class FunctionEndToEndTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    /// <summary>Answers its pid; /echo/sleep?ms=N answers after N ms. Threaded: an instance takes several requests at once.</summary>
    private const string App = """
        import os, sys, time
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            def do_GET(self):
                if self.path.startswith("/echo/sleep"):
                    time.sleep(int(self.path.split("ms=")[1]) / 1000)
                body = str(os.getpid()).encode()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)
            def log_message(self, *args):
                pass
        ThreadingHTTPServer.daemon_threads = True
        ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
        """;

    private readonly TempDirectory _dir = new("flotilla-functions");
    private readonly HttpClient _client = new() { Timeout = TimeSpan.FromSeconds(60) };
    private ControlPlane _plane = null!;

    public async Task InitializeAsync()
    {
        _dir.Write("fn/app.py", App);
        _plane = await ControlPlane.StartAsync(new ControlPlaneOptions(Path.Combine(_dir.Path, "data")));
    }

    public async Task DisposeAsync()
    {
        await _plane.StopDataPlaneAsync();
        await _plane.DisposeAsync();
        _client.Dispose();
        Assert.Empty(ProcessScan.Mentioning(_dir.Path));
        _dir.Dispose();
    }

    private async Task ApplyAsync(string function)
    {
        var yaml = $$"""
            name: functions-test
            functions:
              echo:
                command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
                files: fn
                trigger: { http: /echo }
                {{function}}
            """;
        var file = Path.Combine(_dir.Path, "flotilla.yaml");
        File.WriteAllText(file, yaml);
        await _plane.ApplyAsync(new ApplyRequest(yaml, file, null, null, "test"));
    }

    private ServiceStatus Echo => _plane.Status().Services.Single(s => s.Name == "echo");

    private string Url(string path = "/echo") => Echo.Endpoint + path;

    [Fact]
    public async Task FromZero_ConcurrentRequestsAreHeldAndAllAnswered_ThenIdleScalesToZero_AndBackAgain()
    {
        await ApplyAsync("scale: { min: 0, max: 4, concurrency: 5, idle: 2s }");
        await Task.Delay(1000);
        Assert.DoesNotContain(Echo.Instances, i => i.IsLive);

        var responses = await Task.WhenAll(Enumerable.Range(0, 40).Select(_ => _client.GetAsync(Url("/echo/sleep?ms=200"))));
        Assert.All(responses, r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
        Assert.Contains(responses, r => r.Headers.Contains("X-Flotilla-Cold-Start"));
        Assert.Contains(_plane.Events.Since(0), e => e.Subject == "echo" && e.Message.StartsWith("scaled 0 → ", StringComparison.Ordinal));

        // Idle for 2 s after the last request: the scale-down starts; a request arriving right then is not lost.
        await Eventually.Until(() => _plane.Events.Since(0).Any(e => e.Subject == "echo" && e.Message.Contains("→ 0:", StringComparison.Ordinal)), Wait, "the scale-down to start");
        var during = await _client.GetAsync(Url());
        Assert.Equal(HttpStatusCode.OK, during.StatusCode);
        // Then idle again: drained and stopped like any instance.
        await Eventually.Until(() => !Echo.Instances.Any(i => i.IsLive), Wait, "the function to scale to zero after idle");
        Assert.Equal(0, Echo.Desired);
        Assert.Contains(_plane.Events.Since(0), e => e.Subject == "echo" && e.Message.Contains("→ 0: no request for 2 s", StringComparison.Ordinal));

        // And from zero again.
        var again = await _client.GetAsync(Url());
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.True(again.Headers.Contains("X-Flotilla-Cold-Start"));
        var metrics = await _plane.DataPlane.PrometheusAsync();
        Assert.Matches("flotilla_function_start_seconds_count\\{function=\"echo\"\\} [23]\n", metrics);
    }

    [Fact]
    public async Task ARequestPastTheTimeout_Gets504_AndTheNextOneIsAnswered()
    {
        await ApplyAsync("timeout: 1s");
        var slow = await _client.GetAsync(Url("/echo/sleep?ms=3000"));
        Assert.Equal(HttpStatusCode.GatewayTimeout, slow.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync(Url())).StatusCode);
    }

    [Fact]
    public async Task AFunctionThatNeverBecomesReady_Answers503WithRetryAfter_WithinItsBudget()
    {
        var yaml = """
            name: functions-test
            functions:
              echo:
                command: [python3, -c, "import time; time.sleep(120)"]
                trigger: { http: / }
                hold: { budget: 1500ms }
            """;
        var file = Path.Combine(_dir.Path, "flotilla.yaml");
        File.WriteAllText(file, yaml);
        await _plane.ApplyAsync(new ApplyRequest(yaml, file, null, null, "test"));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var responses = await Task.WhenAll(Enumerable.Range(0, 5).Select(_ => _client.GetAsync(Url("/"))));
        Assert.All(responses, r =>
        {
            Assert.Equal(HttpStatusCode.ServiceUnavailable, r.StatusCode);
            Assert.NotNull(r.Headers.RetryAfter);
        });
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(20));
    }
}
