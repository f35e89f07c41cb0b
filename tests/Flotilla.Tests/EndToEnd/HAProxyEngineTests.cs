using System.Net;
using System.Net.Sockets;
using Flotilla.Hosting;
using Flotilla.Router.HAProxy;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.EndToEnd;

/// <summary>
/// A control plane whose router engine is HAProxy (<c>--router-engine haproxy</c>): a spec of
/// close-per-request backends (python's http.server, HTTP/1.0) served through it under
/// concurrency with no error; a spec that needs what the engine does not do refused at apply,
/// naming the engine, the feature and the fix; haproxy stopped with the data plane.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class HAProxyEngineTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    [Fact]
    public async Task ASpecServedThroughHAProxy_AnswersEveryRequest_AndWhatItCannotDoIsRefusedAtApply()
    {
        using var dir = new TempDirectory("flotilla-hx-e2e");
        var port = FreePort();
        var yaml = $$"""
            name: hx
            services:
              web:
                command: [python3, -m, http.server, "${PORT}", --bind, 127.0.0.1]
                instances: 3
                http: { port: {{port}}, health: / }
            """;
        var file = dir.Write("flotilla.yaml", yaml);
        var plane = await ControlPlane.StartAsync(new ControlPlaneOptions(Path.Combine(dir.Path, "data")) { RouterEngine = "haproxy", InstanceUsers = false });
        var master = 0;
        try
        {
            var haproxy = Assert.IsType<HAProxyRouter>(plane.DataPlane);
            master = haproxy.MasterPid;
            await plane.ApplyAsync(new ApplyRequest(yaml, file, null, null, "test"));
            var deadline = DateTime.UtcNow + Wait;
            while (!plane.Status().AllReady && DateTime.UtcNow < deadline)
            {
                await Task.Delay(100);
            }
            Assert.True(plane.Status().AllReady, "the three instances did not become ready");

            using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(10) };
            // Ready is seen before the table of ready instances reaches haproxy: the load starts once it has.
            await Eventually.Until(async () =>
            {
                using var first = await http.GetAsync($"http://127.0.0.1:{port}/");
                return first.IsSuccessStatusCode;
            }, Wait, "haproxy to serve the ready instances");
            var failed = 0;
            await Task.WhenAll(Enumerable.Range(0, 8).Select(async _ =>
            {
                for (var i = 0; i < 50; i++)
                {
                    using var response = await http.GetAsync($"http://127.0.0.1:{port}/");
                    if (!response.IsSuccessStatusCode)
                    {
                        Interlocked.Increment(ref failed);
                    }
                }
            }));
            Assert.Equal(0, failed);
            var counts = await plane.DataPlane.TakeMetricsAsync();
            Assert.True(counts.Where(c => c.Service == "web").Sum(c => c.Classes[1]) >= 400, "the 400 answers were not counted per revision");

            var latency = yaml + """

                    rollout:
                      strategy: canary
                      steps:
                        - weight: 10
                        - analysis: { interval: 5s, p99: "< 300ms" }
                """;
            var refused = await Assert.ThrowsAsync<ControlPlaneException>(() => plane.ApplyAsync(new ApplyRequest(latency, file, null, null, "test")));
            Assert.Contains("service 'web'", refused.Message);
            Assert.Contains("latency", refused.Message);
            Assert.Contains("--router-engine yarp", refused.Message);

            await plane.StopDataPlaneAsync();
        }
        finally
        {
            await plane.DisposeAsync();
        }
        Assert.False(Flotilla.Runtime.Posix.IsRunning(master, null), $"haproxy master {master} left running after the data plane stopped");
    }
}
