using System.Text.Json.Nodes;
using Docker.DotNet.Models;
using Flotilla.Hosting;
using Flotilla.Runtime.Docker;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.EndToEnd;

/// <summary>
/// The scenarios that prove the local runtime, on the Docker runtime: self-healing after kill -9,
/// a rolling update and a bad canary under load, a control plane killed and restarted. Same spec
/// as on processes but for <c>runtime: docker</c>; the containers are the engine's, checked through its API.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class DockerTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private static readonly string Reviews = Path.Combine(Repository.Root, "examples", "shop", "services", "Reviews");
    private readonly TempDirectory _dir = new("flotilla-docker");
    private ControlPlane? _plane;

    private string DataDirectory => Path.Combine(_dir.Path, "data");

    private ControlPlane Plane => _plane!;

    public Task InitializeAsync() => Task.CompletedTask;

    public async Task DisposeAsync()
    {
        if (_plane is not null)
        {
            await _plane.StopDataPlaneAsync();
            await _plane.DisposeAsync();
        }
        var left = await ContainersAsync(DataDirectory);
        // A failed test must not leak containers: the driver's stray sweep removes them, then the check fails it.
        await using (var sweeper = new DockerDriver(DataDirectory))
        {
            await sweeper.StopStraysAsync(TimeSpan.FromSeconds(1));
        }
        _dir.Dispose();
        Assert.Empty(left);
    }

    private static string Spec(string version, int instances = 3, string? rollout = null, string extraEnv = "") => $$"""
        name: docker-test
        runtime: docker
        services:
          reviews:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: {{Reviews}}
            instances: {{instances}}
            http: { health: /healthz, ready: /ready }
            resources: { memory: 128Mi, cpu: 0.5 }
            env: { REVIEWS_VERSION: "{{version}}"{{extraEnv}} }
            rollout:
        {{string.Join('\n', (rollout ?? "{ maxSurge: 1, maxUnavailable: 0, minReady: 300ms, progressDeadline: 60s }").Split('\n').Select(l => "      " + l))}}
        """;

    private async Task<ApplyResult> ApplyAsync(string yaml)
    {
        _plane ??= await ControlPlane.StartAsync(new ControlPlaneOptions(DataDirectory));
        var file = Path.Combine(_dir.Path, "flotilla.yaml");
        await File.WriteAllTextAsync(file, yaml);
        return await Plane.ApplyAsync(new ApplyRequest(yaml, file, null, null, "test"));
    }

    /// <summary>The containers the control plane of <paramref name="dataDirectory"/> owns, running or not.</summary>
    private static async Task<IList<ContainerListResponse>> ContainersAsync(string dataDirectory)
    {
        await using var driver = new DockerDriver(dataDirectory);
        return await driver.ContainersAsync();
    }

    private string Endpoint => $"http://127.0.0.1:{Plane.Endpoints["reviews"]}/";

    private IReadOnlyList<Flotilla.Runtime.InstanceStatus> Ready => Plane.Status().Services.Single().Instances.Where(i => i.State == Flotilla.Runtime.InstanceState.Ready).ToList();

    [DockerFact]
    public async Task KilledContainer_IsReplaced_UnderLoad_FailingOnlyAnAnswerItHadBegun()
    {
        await ApplyAsync(Spec("1.0.0"));
        await Plane.WaitUntilConvergedAsync(Wait);
        var victim = Ready.First();
        Assert.Equal(3, (await ContainersAsync(DataDirectory)).Count(c => c.State == "running"));

        using var client = new VersionClient(Endpoint);
        await Task.Delay(500);
        var clock = System.Diagnostics.Stopwatch.StartNew();
        System.Diagnostics.Process.GetProcessById(victim.Pid).Kill();
        await Eventually.Until(() => Ready.Count == 3 && Ready.All(i => i.Id != victim.Id), Wait, "a replacement to be ready");
        var replaced = clock.Elapsed;
        await Task.Delay(500);
        var (versions, failures) = await client.StopAsync();

        // The README's contract: a GET is retried on another instance unless some of its answer had reached
        // the router. The app writes its head and its body apart, so a kill between the two (one request in
        // 10,316 once) is a 502 from the router (no body), said in a router event; only the requests in flight
        // on the victim can be caught so, one per client loop at most. Any other failure is a defect.
        var halfAnswered = failures.Count(f => f == "502 ");
        Assert.True(failures.Count == halfAnswered && halfAnswered <= 4, $"{failures.Count} failed of {versions.Count + failures.Count}: {string.Join("; ", failures.Distinct().Take(5))}");
        Assert.True(halfAnswered == 0 || Plane.Events.Since(0).Any(e => e.Subject == "router" && e.Message.Contains($"(ResponseBodyDestination); last tried instance {victim.Id}", StringComparison.Ordinal)),
            $"{halfAnswered} requests got a 502 that no router event explains as an answer broken off by the killed {victim.Id}");
        Assert.True(replaced < TimeSpan.FromSeconds(30), $"replaced after {replaced}");
        Assert.Contains(Plane.Events.Since(0), e => e.Subject == victim.Id && e.Message.Contains("killed by SIGKILL", StringComparison.Ordinal));
        await Eventually.Until(async () => (await ContainersAsync(DataDirectory)).Count == 3, Wait, "the killed container to be removed");
        var running = await ContainersAsync(DataDirectory);
        Assert.DoesNotContain(running, c => c.Labels!["io.flotilla.instance"] == victim.Id);
    }

    [DockerFact]
    public async Task RollingUpdate_OfThreeContainers_UnderLoad_FailsNoRequest_AndLeavesOnlyTheNewOnes()
    {
        await ApplyAsync(Spec("1.0.0"));
        await Plane.WaitUntilConvergedAsync(Wait);
        var old = (await ContainersAsync(DataDirectory)).Select(c => c.ID).ToList();

        using var client = new VersionClient(Endpoint);
        await Task.Delay(500);
        await ApplyAsync(Spec("2.0.0"));
        var v2 = Plane.State.Find("reviews")!.Revision;
        await Eventually.Until(() => Plane.Rollout("reviews") is { State: "complete" } r && r.Revision == v2 && r.Old == 0, Wait, "the rollout to complete");
        await Task.Delay(500);
        var (versions, failures) = await client.StopAsync();

        Assert.True(failures.Count == 0, $"{failures.Count} failed of {versions.Count + failures.Count}: {string.Join("; ", failures.Distinct().Take(5))}");
        Assert.Equal("reviews 1.0.0", versions[0]);
        Assert.Equal("reviews 2.0.0", versions[^1]);
        // An old container is removed just after its exit was seen.
        await Eventually.Until(async () => (await ContainersAsync(DataDirectory)).Count == 3, Wait, "only the new containers to be left");
        var now = await ContainersAsync(DataDirectory);
        Assert.All(now, c => Assert.Equal(v2, c.Labels!["io.flotilla.revision"]));
        Assert.Empty(now.Select(c => c.ID).Intersect(old));
    }

    [DockerFact]
    public async Task ABadCanary_IsAbortedByAnalysis_AndAllTrafficIsBackOnStable()
    {
        const string canary = """
            strategy: canary
            progressDeadline: 60s
            steps:
              - weight: 20
              - analysis: { interval: 3s, count: 2, minRequests: 10, successRate: ">= 95%" }
              - weight: 50
            """;
        await ApplyAsync(Spec("1.0.0", instances: 2, canary));
        await Plane.WaitUntilConvergedAsync(Wait);
        var v1 = Plane.State.Find("reviews")!.Revision;
        using var client = new VersionClient(Endpoint, loops: 3);
        await ApplyAsync(Spec("2.0.0", instances: 2, canary, ", REVIEWS_FAIL_RATE: \"0.3\""));

        await Eventually.Until(() => Plane.Rollout("reviews").State == "degraded", Wait, "the analysis to abort the canary");
        Assert.Contains("success rate", Plane.Rollout("reviews").Release!.Reason, StringComparison.Ordinal);
        await Task.Delay(500);
        var seen = client.Seen().Versions.Count;
        await Eventually.Until(() => client.Seen().Versions.Count > seen + 100, Wait, "100 more answers");
        var (versions, _) = await client.StopAsync();
        Assert.All(versions.Skip(seen), v => Assert.Equal("reviews 1.0.0", v));
        await Eventually.Until(async () => (await ContainersAsync(DataDirectory)).All(c => c.Labels!["io.flotilla.revision"] == v1), Wait, "the canary's containers to be gone");
    }

    [DockerFact]
    public async Task APrebuiltImage_RunsWithItsCommand_AndOneTheEngineLacks_RefusesTheApply_ChangingNothing()
    {
        // The base image stands in for any image already in the engine (none can be pulled here).
        const string prebuilt = """
            name: docker-test
            runtime: docker
            services:
              web:
                image: flotilla-base:1
                command: [python3, -m, http.server, "${PORT}", --bind, 127.0.0.1]
            """;
        await ApplyAsync(prebuilt);
        await Plane.WaitUntilConvergedAsync(Wait);
        using var http = new HttpClient();
        Assert.Contains("Directory listing", await http.GetStringAsync($"http://127.0.0.1:{Plane.Endpoints["web"]}/"), StringComparison.Ordinal);
        var revisions = Plane.Store.LatestRevisionNumber;

        var e = await Assert.ThrowsAsync<ControlPlaneException>(() => ApplyAsync(prebuilt.Replace("flotilla-base:1", "flotilla-test-no-such-image:1", StringComparison.Ordinal)));
        Assert.Equal(ControlPlaneError.Unavailable, e.Kind);
        Assert.Contains("image 'flotilla-test-no-such-image:1' is not in the Docker Engine", e.Message, StringComparison.Ordinal);
        Assert.Equal(revisions, Plane.Store.LatestRevisionNumber);
        Assert.Equal("flotilla-base:1", Plane.State.Find("web")!.Image);
        Assert.Single(await ContainersAsync(DataDirectory));
    }

    [DockerFact]
    public async Task KilledServer_UnderLoad_FailsNoRequest_AndTheNextOneAdoptsEveryContainer()
    {
        using var harness = new ServerHarness();
        try
        {
            harness.WriteSpec(Spec("1.0.0"));
            var first = await harness.StartServerAsync();
            var applied = await harness.CliAsync("apply", "-f", harness.SpecDirectory, "--wait");
            Assert.True(applied.Code == 0, applied.Output);
            var endpoint = (string)(await harness.JsonAsync("status"))["services"]!.AsArray().Single()!["endpoint"]!;
            var before = (await ContainersAsync(harness.DataDirectory)).Select(c => c.ID).Order().ToList();
            Assert.Equal(3, before.Count);

            using (var load = new LoadClient(endpoint + "/", concurrency: 4))
            {
                await Task.Delay(1000);
                Flotilla.Runtime.Posix.Signal(first.Pid, Flotilla.Runtime.Posix.SIGKILL);
                await first.WaitForExitAsync(ServerHarness.Wait);
                await Task.Delay(1000);
                await harness.StartServerAsync("re-adopted 3 of 3 recorded instances");
                await Task.Delay(1500);
                var (ok, failed, failures) = await load.StopAsync();
                Assert.True(failed == 0, $"{failed} failed requests of {ok + failed}: {string.Join("; ", failures.Distinct().Take(5))}");
                Assert.True(ok > 20, $"only {ok} requests went through");
            }

            // The same containers: none duplicated, none orphaned.
            Assert.Equal(before, (await ContainersAsync(harness.DataDirectory)).Select(c => c.ID).Order().ToList());
            Assert.Equal(0, (await harness.CliAsync("diff")).Code);
            var logs = await harness.CliAsync("logs", "reviews");
            Assert.Equal(0, logs.Code);
            Assert.Contains("in a container of flotilla-artifact:reviews-", logs.Output, StringComparison.Ordinal);

            Assert.Equal(0, (await harness.CliAsync("shutdown", "--stop-all")).Code);
            Assert.Equal(0, await harness.Server.WaitForExitAsync(ServerHarness.Wait));
            Assert.Empty(await ContainersAsync(harness.DataDirectory));
        }
        finally
        {
            await using var sweeper = new DockerDriver(harness.DataDirectory);
            await sweeper.StopStraysAsync(TimeSpan.FromSeconds(1));
        }
    }

    [DockerFact]
    public async Task AServicesSqliteDatabase_IsReachedFromItsContainers_AtTheSamePath()
    {
        // Each container writes its instance id into the service's SQLite file at start, then serves.
        var app = Path.Combine(_dir.Path, "app");
        Directory.CreateDirectory(app);
        await File.WriteAllTextAsync(Path.Combine(app, "app.py"), """
            import os, sqlite3, sys
            from http.server import BaseHTTPRequestHandler, HTTPServer
            path = os.environ["ConnectionStrings__notes"].split(";")[0].split("=", 1)[1]
            with sqlite3.connect(path, timeout=30) as db:
                db.execute("INSERT INTO notes (instance) VALUES (?)", (os.environ["FLOTILLA_INSTANCE"],))
            class Handler(BaseHTTPRequestHandler):
                def do_GET(self):
                    self.send_response(200); self.send_header("Content-Length", "2"); self.end_headers(); self.wfile.write(b"ok")
            HTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
            """);
        Directory.CreateDirectory(Path.Combine(_dir.Path, "notes-db"));
        await File.WriteAllTextAsync(Path.Combine(_dir.Path, "notes-db", "001_create.sql"), "CREATE TABLE notes (instance text NOT NULL);");
        await ApplyAsync($$"""
            name: docker-test
            runtime: docker
            services:
              notes:
                command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
                files: {{app}}
                instances: 2
                http: { health: /healthz, ready: /ready }
                database: { migrations: notes-db }
            """);
        await Plane.WaitUntilConvergedAsync(Wait);
        var file = Path.Combine(DataDirectory, "databases", "notes", "notes.db");
        await using var sqlite = new Microsoft.Data.Sqlite.SqliteConnection($"Data Source={file};Mode=ReadOnly;Pooling=False");
        await sqlite.OpenAsync();
        await using var command = sqlite.CreateCommand();
        command.CommandText = "SELECT instance FROM notes ORDER BY instance";
        var written = new List<string>();
        await using (var reader = await command.ExecuteReaderAsync())
        {
            while (await reader.ReadAsync())
            {
                written.Add(reader.GetString(0));
            }
        }
        Assert.Equal(Plane.Status().Services.Single().Instances.Select(i => i.Id).Order(), written);
        if (Environment.IsPrivilegedProcess)
        {
            // As the service's local instances would: its instance user owns the mounted directory, and the containers run as it.
            var uid = File.ReadAllLines("/etc/passwd").Select(l => l.Split(':')).Single(f => f[0] == Flotilla.Isolation.InstanceUsers.NameOf(DataDirectory, "notes"))[2];
            foreach (var pid in Plane.Status().Services.Single().Instances.Select(i => i.Pid))
            {
                Assert.StartsWith($"Uid:\t{uid}\t{uid}\t", File.ReadAllLines($"/proc/{pid}/status").Single(l => l.StartsWith("Uid:", StringComparison.Ordinal)), StringComparison.Ordinal);
            }
        }
    }
}
