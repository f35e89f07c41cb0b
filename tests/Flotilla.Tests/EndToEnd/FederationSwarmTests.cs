using Flotilla.Conditions;
using Flotilla.Federation;
using Flotilla.Hosting;
using Flotilla.Tests.Support;
using Xunit.Abstractions;

namespace Flotilla.Tests.EndToEnd;

/// <summary>
/// One system over three real clusters: local processes and two Docker Swarms side by side (two labs
/// of deploy/swarm-lab/lab.sh, each a one-node swarm in its own network namespace and subnet). One
/// swarm's manager is stopped and a new revision applied: the other two converge on it at once, the
/// stopped one is marked unreachable with the cause and retried with back-off, and it converges on the
/// new revision when its manager is back. About a minute on two cores.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class FederationSwarmTests(ITestOutputHelper output) : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(120);
    private readonly TempDirectory _dir = new("flotilla-fedswarm");
    private readonly SwarmLab _eu = new(lab: 7);
    private readonly SwarmLab _us = new(lab: 8);
    private Flotilla.Federation.Federation? _federation;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_federation is not null)
        {
            // Bounded: a manager left down by a failed run must not hold the labs' removal up.
            try
            {
                await _federation.StopDataPlanesAsync().WaitAsync(TimeSpan.FromMinutes(2));
            }
            catch (TimeoutException)
            {
            }
            await _federation.DisposeAsync();
        }
        await _eu.DisposeAsync();
        await _us.DisposeAsync();
        _dir.Dispose();
    }

    private string Spec(string version) => $$"""
        name: fed-swarm
        services:
          web:
            command:
              - python3
              - -c
              - |
                import http.server, os
                class H(http.server.BaseHTTPRequestHandler):
                    def do_GET(self):
                        body = ('web ' + os.environ['VERSION']).encode()
                        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
                    def log_message(self, *args): pass
                http.server.ThreadingHTTPServer(('', int(os.environ['PORT'])), H).serve_forever()
            instances: 1
            env: { VERSION: "{{version}}" }
            rollout: { progressDeadline: 80s }
        clusters:
          - { name: here, kind: local }
          - { name: eu, kind: swarm, endpoint: "{{_eu.Manager}}", instances: 2 }
          - { name: us, kind: swarm, endpoint: "{{_us.Manager}}" }
        """;

    private Task<FederationApplyResult> ApplyAsync(string version)
    {
        var yaml = Spec(version);
        return _federation!.ApplyAsync(new ApplyRequest(yaml, _dir.Write("flotilla.yaml", yaml), null, null, "test"));
    }

    private ClusterStatus Cluster(string name) => _federation!.Status().Clusters.Single(c => c.Name == name);

    /// <summary>What the cluster's endpoint (its router, on this machine) answers, or null.</summary>
    private async Task<string?> AnswerAsync(string cluster)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            return await http.GetStringAsync($"http://127.0.0.1:{_federation!.Plane(cluster)!.Endpoints["web"]}/");
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    [DockerFact]
    public async Task OneClusterDown_DuringAnApply_TheOthersConverge_ItIsMarked_AndItConvergesWhenBack()
    {
        await Task.WhenAll(_eu.UpAsync(1), _us.UpAsync(1));
        _federation = await Flotilla.Federation.Federation.StartAsync(Path.Combine(_dir.Path, "fed"), new ControlPlaneOptions(Path.Combine(_dir.Path, "data")),
            new FederationOptions { Tick = TimeSpan.FromMilliseconds(200), ProbeInterval = TimeSpan.FromMilliseconds(500), FirstBackoff = TimeSpan.FromMilliseconds(500), MaxBackoff = TimeSpan.FromSeconds(4) });
        var clock = System.Diagnostics.Stopwatch.StartNew();
        await ApplyAsync("1");
        await Eventually.Until(() => _federation.Status().AllHealthy, Wait, "every cluster to run revision 1 ready");
        output.WriteLine($"revision 1 ready on all three clusters {clock.ElapsedMilliseconds} ms after the apply");
        Assert.Equal((2, 2), (Cluster("eu").Ready, Cluster("eu").Desired));
        foreach (var cluster in new[] { "here", "eu", "us" })
        {
            Assert.Equal("web 1", await AnswerAsync(cluster));
        }

        // The eu swarm's manager goes away, and revision 2 is applied.
        await _eu.StopNodeAsync(1);
        clock.Restart();
        await ApplyAsync("2");
        await Eventually.Until(async () => Cluster("here") is { Revision: 2, Health: "healthy" } && Cluster("us") is { Revision: 2, Health: "healthy" }
            && await AnswerAsync("here") == "web 2" && await AnswerAsync("us") == "web 2", Wait, "'here' and 'us' to run revision 2 while eu is down");
        output.WriteLine($"revision 2 served by 'here' and 'us' {clock.ElapsedMilliseconds} ms after the apply, with eu's manager down");
        Assert.Equal((false, 1L), (Cluster("eu").Reachable, Cluster("eu").Revision));
        // Marked by the apply that failed on it, or by a probe; the probes after it say what the engine client says.
        await Eventually.Until(() => Cluster("eu").Conditions.Any(c => c.Type == ConditionType.Unreachable && c.Message.Contains("no socket at /run/flotilla-swarm-lab7/node1.sock", StringComparison.Ordinal)),
            Wait, "eu's condition to name the missing socket");
        Assert.Contains(_federation.Events.Since(0), e => e.Warning && e.Message.StartsWith("cluster 'eu' cannot be reached: ", StringComparison.Ordinal));
        await Eventually.Until(() => Cluster("eu").Conditions.Any(c => c.Type == ConditionType.Unreachable && !c.Message.Contains("(1 try", StringComparison.Ordinal)), Wait,
            "eu to be tried again with back-off");

        // Its manager back: eu answers, gets revision 2 and runs it, ready, at its own count.
        await _eu.StartNodeAsync(1);
        clock.Restart();
        await Eventually.Until(async () => _federation.Status().AllHealthy && _federation.Status().Clusters.All(c => c.Revision == 2) && await AnswerAsync("eu") == "web 2",
            Wait, "eu to run revision 2 ready once its manager is back");
        output.WriteLine($"eu served revision 2 {clock.ElapsedMilliseconds} ms after its manager was back (lab.sh start-node returned)");
        foreach (var e in _federation.Events.Since(0))
        {
            output.WriteLine($"{e.At:HH:mm:ss.fff} {(e.Warning ? "warning " : "")}{e.Subject}: {e.Message}");
        }
        Assert.Equal((2, 2), (Cluster("eu").Ready, Cluster("eu").Desired));
        Assert.Contains(_federation.Events.Since(0), e => e.Message.StartsWith("cluster 'eu' answers again", StringComparison.Ordinal));
    }
}
