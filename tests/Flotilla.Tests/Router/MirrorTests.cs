using System.Net;
using System.Text.Json.Nodes;
using Flotilla.Router;
using Flotilla.Router.Mirror;
using Flotilla.Tests.Support;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;

namespace Flotilla.Tests.Router;

/// <summary>Parallel runs through the real router: real backends answering JSON with a timestamp and a random id.</summary>
public sealed class MirrorTests : IAsyncLifetime
{
    private readonly RouterHost _router = new();
    private readonly HttpClient _client = new() { Timeout = TimeSpan.FromSeconds(10) };
    private readonly List<TestBackend> _backends = [];
    private int _port;

    public async Task InitializeAsync() => _port = await _router.AddServiceAsync("api", null);

    public async Task DisposeAsync()
    {
        await _router.DisposeAsync();
        foreach (var backend in _backends)
        {
            await backend.DisposeAsync();
        }
        _client.Dispose();
    }

    /// <summary>A backend (<see cref="TestBackend"/>) with GET /item/{id}: {id, version, value, at, rid}; the candidate's value is off by one for ids divisible by 4. POST /item counts writes.</summary>
    private sealed class Backend
    {
        public int Gets;
        public int Writes;
        public int Port { get; private set; }

        public static async Task<Backend> StartAsync(string version, bool candidate, List<TestBackend> started)
        {
            var backend = new Backend();
            var server = await TestBackend.StartAsync(version, app =>
            {
                app.MapGet("/item/{id:int}", (int id) =>
                {
                    Interlocked.Increment(ref backend.Gets);
                    return Results.Json(new { id, version, value = candidate && id % 4 == 0 ? id * 10 + 1 : id * 10, at = DateTime.UtcNow.Ticks, rid = Guid.NewGuid() });
                });
                app.MapPost("/item", () =>
                {
                    Interlocked.Increment(ref backend.Writes);
                    return Results.Json(new { version });
                });
            });
            started.Add(server);
            backend.Port = server.Port;
            return backend;
        }
    }

    private async Task<(Backend S1, Backend S2, Backend C)> RouteAsync(string[]? methods = null, string[]? ignore = null, int? candidatePort = null)
    {
        var s1 = await Backend.StartAsync("v1", false, _backends);
        var s2 = await Backend.StartAsync("v1", false, _backends);
        var c = await Backend.StartAsync("v2", true, _backends);
        _router.Apply(new RoutingTable(
            new Dictionary<string, IReadOnlyList<RouteDestination>> { ["api"] = [new("s1", s1.Port, "v1"), new("s2", s2.Port, "v1"), new("c1", candidatePort ?? c.Port, "v2")] },
            new Dictionary<string, TrafficSplit> { ["api"] = new("v2", 0) },
            new Dictionary<string, MirrorPolicy> { ["api"] = new("v2", 100, methods ?? ["GET", "HEAD", "OPTIONS"], 64 * 1024, ["Content-Type"], ignore ?? ["$.version"], false, "run-1") }));
        return (s1, s2, c);
    }

    private async Task<ParallelReport> ReportAfterAsync(long compared)
    {
        await Eventually.Until(() => _router.ParallelReport("api") is { } r && r.Compared + r.Skipped >= compared, TimeSpan.FromSeconds(30), $"{compared} comparisons");
        return _router.ParallelReport("api")!;
    }

    [Fact]
    public async Task ClientsGetOnlyStableAnswers_MismatchesAreCounted_AndTimestampsAndIdsAreNoise()
    {
        var (_, _, candidate) = await RouteAsync();
        for (var i = 1; i <= 200; i++)
        {
            var answer = JsonNode.Parse(await _client.GetStringAsync($"http://127.0.0.1:{_port}/item/{i}"))!;
            Assert.Equal("v1", (string?)answer["version"]);
            Assert.Equal(i * 10, (int)answer["value"]!);
        }
        var report = await ReportAfterAsync(200);
        Assert.Equal(200, candidate.Gets);
        Assert.Equal((200, 50, 25.0, 0), (report.Compared, report.Mismatches, report.MismatchRate, report.Skipped));
        var field = Assert.Single(report.Fields);
        Assert.Equal(("$.value", 50), (field.Field, field.Count));
        Assert.Equal(["$.at", "$.rid"], report.Noise.Select(n => n.Field).Order());
        Assert.NotNull(report.CandidateLatency.P50);
    }

    [Fact]
    public async Task WritesAreNotMirrored_UnlessOptedIn()
    {
        var (s1, s2, candidate) = await RouteAsync();
        for (var i = 0; i < 20; i++)
        {
            using var response = await _client.PostAsync($"http://127.0.0.1:{_port}/item", new StringContent("{}"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        }
        // Not slept on: ten GETs after the writes are mirrored and compared; a copy of a write, queued before
        // them, would have reached the candidate first and be counted among the comparisons.
        for (var i = 1; i <= 10; i++)
        {
            Assert.Equal("v1", (string?)JsonNode.Parse(await _client.GetStringAsync($"http://127.0.0.1:{_port}/item/{i}"))!["version"]);
        }
        var report = await ReportAfterAsync(10);
        Assert.Equal((10, 0L), (candidate.Gets, report.Compared - 10));
        Assert.Equal((20, 0), (s1.Writes + s2.Writes, candidate.Writes));

        _router.Apply(RoutingTable.Empty);
        var (w1, w2, writesCandidate) = await RouteAsync(methods: ["GET", "POST"]);
        for (var i = 0; i < 20; i++)
        {
            (await _client.PostAsync($"http://127.0.0.1:{_port}/item", new StringContent("""{"n": 1}"""))).Dispose();
        }
        await ReportAfterAsync(20);
        Assert.Equal(20, writesCandidate.Writes);
        Assert.Equal(20, w1.Writes + w2.Writes);   // a write reaches stable once: no noise copy for writes
    }

    [Fact]
    public async Task ACandidateThatIsDown_IsInvisibleToClients_AndCountedAsErrors()
    {
        await RouteAsync(candidatePort: Flotilla.Net.PortAllocator.Next());
        for (var i = 1; i <= 50; i++)
        {
            using var response = await _client.GetAsync($"http://127.0.0.1:{_port}/item/{i}");
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("v1", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["version"]);
        }
        var report = await ReportAfterAsync(50);
        Assert.Equal(50, report.CandidateErrors + report.Skipped);
        Assert.True(report.CandidateErrors > 0);
        Assert.Equal("candidate error", report.Fields[0].Field);
    }
}
