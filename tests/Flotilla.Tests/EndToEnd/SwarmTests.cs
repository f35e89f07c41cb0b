using Flotilla.Controllers.Rollouts;
using Flotilla.Hosting;
using Flotilla.Runtime;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.EndToEnd;

/// <summary>
/// Flotilla on a real multi-node Docker Swarm (three dockerds in network namespaces): six instances
/// spread over three nodes, a node lost under load, a rolling update across nodes under load, and
/// a control plane restarted that finds its services again, a canary held at 50% then promoted, a blue-green
/// switch and a parallel run.
/// One scenario, because making the swarm
/// is most of its cost (about 35 s of its ~100 s on two cores).
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class SwarmTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private readonly TempDirectory _dir = new("flotilla-swarm");
    private readonly SwarmLab _lab = new();
    private ControlPlane? _plane;
    private NodeRouter? _replica;

    private string DataDirectory => Path.Combine(_dir.Path, "data");

    private ControlPlane Plane => _plane!;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        // Each part is stopped even when an earlier one's stop throws: a node router left running outlives the test run.
        try
        {
            if (_plane is not null)
            {
                await _plane.StopDataPlaneAsync();
                await _plane.DisposeAsync();
            }
        }
        finally
        {
            try
            {
                if (_replica is not null)
                {
                    await _replica.DisposeAsync();
                }
            }
            finally
            {
                await _lab.DisposeAsync();
                _dir.Dispose();
            }
        }
    }

    // A tiny HTTP/1.1 server in Debian's python3 (in the base image), answering with its version.
    private const string Rolling = "{ maxSurge: 2, maxUnavailable: 0, minReady: 500ms, progressDeadline: 80s }";

    private static string Spec(string version, string rollout = Rolling) => $$"""
        name: swarm-test
        runtime: swarm
        services:
          web:
            command:
              - python3
              - -c
              - |
                import http.server, os
                class H(http.server.BaseHTTPRequestHandler):
                    protocol_version = 'HTTP/1.1'
                    def do_GET(self):
                        body = ('{"version": "web ' + os.environ['VERSION'] + '", "instance": "' + os.environ['FLOTILLA_INSTANCE'] + '"}').encode()
                        self.send_response(200); self.send_header('Content-Length', str(len(body))); self.end_headers(); self.wfile.write(body)
                    def log_message(self, *args): pass
                print('web', os.environ['VERSION'], 'listening on', os.environ['PORT'], flush=True)
                http.server.ThreadingHTTPServer(('', int(os.environ['PORT'])), H).serve_forever()
            instances: 6
            env: { VERSION: "{{version}}" }
            resources: { memory: 64Mi, cpu: 0.2 }
            rollout: {{rollout}}
        """;

    private async Task<ApplyResult> ApplyAsync(string yaml)
    {
        _plane ??= await StartPlaneAsync();
        var file = Path.Combine(_dir.Path, "flotilla.yaml");
        await File.WriteAllTextAsync(file, yaml);
        return await Plane.ApplyAsync(new ApplyRequest(yaml, file, null, null, "test"));
    }

    private Task<ControlPlane> StartPlaneAsync() => ControlPlane.StartAsync(new ControlPlaneOptions(DataDirectory)
    {
        SwarmEndpoint = _lab.Manager,
        RouterReplicas = _replica?.Admin,
        RouterReplicaSecret = _replica?.Secret,
    });

    private IReadOnlyList<InstanceStatus> Ready => Plane.Status().Services.Single().Instances.Where(i => i.State == InstanceState.Ready).ToList();

    private async Task<IReadOnlyList<(string Name, ulong Replicas)>> SwarmServicesAsync()
    {
        using var engine = await Flotilla.Runtime.Docker.DockerEngine.ConnectAsync(_lab.Manager);
        return (await engine.Client.Swarm.ListServicesAsync(new Docker.DotNet.Models.ServiceListParameters()))
            .Select(s => (s.Spec!.Name!, s.Spec.Mode?.Replicated?.Replicas ?? 0)).ToList();
    }

    /// <summary>How many distinct tasks answer 30 requests through the router.</summary>
    private static async Task<int> AnsweringAsync(string endpoint)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        var seen = new HashSet<string>(StringComparer.Ordinal);
        for (var i = 0; i < 30; i++)
        {
            var body = System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync(endpoint))!;
            seen.Add((string)body["instance"]!);
        }
        return seen.Count;
    }

    [DockerFact]
    public async Task ANodeLost_AndARollingUpdate_UnderLoad_FailNoRequest_AndARestartedControlPlaneFindsItsServices()
    {
        await _lab.UpAsync(3);
        // A second router, on node 2, fed by the control plane: clients may use either.
        _replica = new NodeRouter(2);
        await ApplyAsync(Spec("1"));
        await Plane.WaitUntilConvergedAsync(Wait);
        Assert.Equal(3, Ready.Select(i => i.Host).Distinct().Count());
        Assert.Equal([("web", 6UL)], (await SwarmServicesAsync()).Select(s => (s.Name.Split('-')[2], s.Replicas)));
        // What a task prints reaches its instance's log file, whichever node runs it.
        await Eventually.Until(() => Ready.All(i => File.Exists(i.LogPath) && File.ReadAllText(i.LogPath).Contains("web 1 listening on 8080", StringComparison.Ordinal)),
            Wait, "each task's output in its instance's log file");
        var replicaEndpoint = _replica.Url(Plane.Endpoints["web"]);
        await Eventually.Until(async () => await TryVersionAsync(replicaEndpoint) == "web 1", Wait, "the router replica on node 2 to serve web");

        // A node lost under load, the hard way: its network cut, so connections to it hang instead of being refused.
        // Requests stuck on it are retried elsewhere once it does not acknowledge them; Swarm places its tasks again.
        var endpoint = $"http://127.0.0.1:{Plane.Endpoints["web"]}/";
        using var client = new VersionClient(endpoint, loops: 6);
        using var viaReplica = new VersionClient(replicaEndpoint, loops: 2);
        await Task.Delay(1000);
        var lost = SwarmLab.NodeAddress(3);
        var held = Ready.Count(i => i.Host == lost);
        Assert.True(held > 0, "node 3 runs instances");
        await _lab.CutNodeAsync(3);
        await Eventually.Until(() => Ready.Count == 6 && Ready.All(i => i.Host != lost), Wait, "six ready instances, none on the lost node");
        Assert.Contains(Plane.Events.Since(0), e => e.Message.Contains($"({lost}, zone c) is down", StringComparison.Ordinal));
        Assert.Equal(held, Plane.Events.Since(0).Count(e => e.Message.Contains($"moved by Swarm from node", StringComparison.Ordinal)));
        await Eventually.Until(() => Plane.Status().Nodes.Count(n => n.Ready) == 2, Wait, "status to show the lost node");
        // Every instance answers through the router again, the moved ones at their new addresses.
        await Eventually.Until(async () => (await AnsweringAsync(endpoint)) == 6, Wait, "six instances answering through the router");
        Assert.Contains(Plane.Status().Nodes, n => n.Address == lost && n.State == "down");

        // A rolling update across the two nodes left, under the same load.
        await ApplyAsync(Spec("2"));
        var v2 = Plane.State.Find("web")!.Revision;
        await Eventually.Until(() => Plane.Rollout("web") is { State: "complete" } r && r.Revision == v2 && r.Old == 0, Wait, "the rollout to complete");
        await Task.Delay(500);
        var (versions, failures) = await client.StopAsync();
        Assert.True(failures.Count == 0, $"{failures.Count} failed of {versions.Count + failures.Count}: {string.Join("; ", failures.Distinct().Take(5))}; "
            + $"the router said: {string.Join("; ", Plane.Events.Since(0).Where(e => e.Subject == "router").Select(e => e.Message).TakeLast(3))}");
        Assert.Equal("web 1", versions[0]);
        Assert.Equal("web 2", versions[^1]);
        // The replica got every table before each drain was waited for: its clients saw no failure either.
        var (replicaVersions, replicaFailures) = await viaReplica.StopAsync();
        Assert.True(replicaFailures.Count == 0, $"{replicaFailures.Count} failed through the replica of {replicaVersions.Count + replicaFailures.Count}: {string.Join("; ", replicaFailures.Distinct().Take(5))}");
        Assert.Equal(("web 1", "web 2"), (replicaVersions[0], replicaVersions[^1]));
        await Eventually.Until(async () => (await SwarmServicesAsync()).Count == 1, Wait, "the old revision's Swarm service to be removed");

        // A control plane restarted finds the swarm as it is: no duplicate service, the six instances ready again.
        await Plane.DisposeAsync();
        // The router in this test's process went with it; the replica on node 2 serves on, alone.
        Assert.Equal("web 2", await VersionAsync(replicaEndpoint));
        _plane = await StartPlaneAsync();
        await Plane.WaitUntilConvergedAsync(Wait);
        await Eventually.Until(() => Ready.Count == 6, Wait, "six ready instances after the restart");
        await Task.Delay(1500);
        Assert.Equal([("web", 6UL)], (await SwarmServicesAsync()).Select(s => (s.Name.Split('-')[2], s.Replicas)));
        Assert.Equal(6, Plane.Status().Services.Single().Instances.Count);

        // A canary across the swarm: the new revision's own Swarm service beside the stable one, half the requests, held by a pause, then promoted.
        await ApplyAsync(Spec("3", "{ strategy: canary, progressDeadline: 80s, steps: [{ weight: 50 }, { pause: {} }] }"));
        await Eventually.Until(() => Plane.Rollout("web").Release is { Phase: ReleasePhase.Paused }, Wait, "the canary to pause at 50%");
        Assert.Equal(2, (await SwarmServicesAsync()).Count);
        using (var split = new VersionClient(endpoint, loops: 2))
        {
            await Eventually.Until(() => split.Seen().Versions.Count >= 200, Wait, "200 answers during the canary");
            var (seen, failed) = await split.StopAsync();
            Assert.Empty(failed);
            Assert.InRange(seen.Count(v => v == "web 3"), seen.Count / 5, seen.Count * 4 / 5);
            Assert.Equal(seen.Count, seen.Count(v => v is "web 2" or "web 3"));
        }
        await Plane.PromoteReleaseAsync("web", false, "test");
        await Eventually.Until(() => Plane.Rollout("web") is { State: "complete", Old: 0 }, Wait, "the promoted canary to complete");
        await Eventually.Until(async () => (await SwarmServicesAsync()).Count == 1, Wait, "the stable revision's Swarm service to be removed");
        await Eventually.Until(() => Ready.Count(i => i.Revision == Plane.State.Find("web")!.Revision) == 6, Wait, "six ready instances of the promoted revision");

        // Blue-green across the swarm: green is a whole second Swarm service, seen only on the preview endpoint
        // until the promote switches every user to it at once, under load.
        await ApplyAsync(Spec("4", "{ strategy: blueGreen, preview: true, autoPromote: false, scaleDownDelay: 2s, progressDeadline: 80s }"));
        await Eventually.Until(() => Plane.Rollout("web").Release is { Phase: ReleasePhase.Paused }, Wait, "green to be ready and wait for the promote");
        Assert.Equal(2, (await SwarmServicesAsync()).Count);
        Assert.Equal("web 4", await VersionAsync($"http://127.0.0.1:{Plane.Endpoints["web.preview"]}/"));
        Assert.Equal("web 3", await VersionAsync(endpoint));
        using (var switching = new VersionClient(endpoint, loops: 2))
        {
            await Eventually.Until(() => switching.Seen().Versions.Count >= 50, Wait, "50 answers before the switch");
            await Plane.PromoteReleaseAsync("web", false, "test");
            await Eventually.Until(() => Plane.Rollout("web") is { State: "complete", Old: 0 }, Wait, "blue to be scaled down");
            var (seen, failed) = await switching.StopAsync();
            Assert.True(failed.Count == 0, $"{failed.Count} failed during the switch: {string.Join("; ", failed.Distinct().Take(5))}");
            Assert.Equal(("web 3", "web 4"), (seen[0], seen[^1]));
        }
        await Eventually.Until(async () => (await SwarmServicesAsync()).Count == 1, Wait, "blue's Swarm service to be removed");

        // A parallel run across the swarm: the candidate's tasks get a copy of each request, users get stable's answers
        // only; the answers agree (but for the fields that name the version and the task), so it promotes itself.
        await ApplyAsync(Spec("5", """{ strategy: parallel, parallel: { duration: 3s, minRequests: 30, maxMismatchRate: 5%, ignore: ["$.version", "$.instance"] }, progressDeadline: 80s }"""));
        var v5 = Plane.State.Find("web")!.Revision;
        using (var mirrored = new VersionClient(endpoint, loops: 2))
        {
            await Eventually.Until(() => Plane.Rollout("web") is { State: "complete", Old: 0 } r && r.Revision == v5, Wait, "the parallel run to pass and promote");
            var report = await Plane.ParallelReportAsync("web");
            Assert.True(report.Compared >= 30 && report.Mismatches == 0, $"compared {report.Compared}, {report.Mismatches} mismatched");
            await Task.Delay(500);
            var (seen, failed) = await mirrored.StopAsync();
            Assert.Empty(failed);
            // Each comparison was a user's request answered by stable (30 at least), so the candidate's first answer comes after them.
            var promotedAt = seen.ToList().IndexOf("web 5");
            Assert.True(promotedAt >= 28, $"users saw the candidate before its run was over: answer {promotedAt} of {seen.Count}");
            Assert.Equal("web 5", seen[^1]);
        }
    }

    private static async Task<string?> TryVersionAsync(string url)
    {
        try
        {
            return await VersionAsync(url);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException or System.Text.Json.JsonException)
        {
            return null;
        }
    }

    private static async Task<string> VersionAsync(string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        return (string)System.Text.Json.Nodes.JsonNode.Parse(await http.GetStringAsync(url))!["version"]!;
    }
}
