using System.Net;
using Flotilla.Model;
using Flotilla.Router;
using Flotilla.Router.Metrics;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Router;

/// <summary>Weighted splits, targeting, stickiness and per-revision metrics through the real router.</summary>
public sealed class TrafficSplitTests : IAsyncLifetime
{
    private readonly RouterHost _router = new();
    private readonly HttpClient _client = new(new SocketsHttpHandler { UseCookies = false }) { Timeout = TimeSpan.FromSeconds(10) };
    private TestBackend _stable = null!;
    private TestBackend _canary = null!;
    private int _port;

    public async Task InitializeAsync()
    {
        _stable = await TestBackend.StartAsync("stable");
        _canary = await TestBackend.StartAsync("canary");
        _port = await _router.AddServiceAsync("api", null);
    }

    public async Task DisposeAsync()
    {
        await _router.DisposeAsync();
        await _stable.DisposeAsync();
        await _canary.DisposeAsync();
        _client.Dispose();
    }

    private void Split(TrafficSplit? split) => _router.Apply(new RoutingTable(
        new Dictionary<string, IReadOnlyList<RouteDestination>> { ["api"] = [new("s1", _stable.Port, "v1"), new("c1", _canary.Port, "v2")] },
        split is null ? null : new Dictionary<string, TrafficSplit> { ["api"] = split }));

    private async Task<(string Body, HttpResponseMessage Response)> GetAsync(Action<HttpRequestMessage>? configure = null)
    {
        var request = new HttpRequestMessage(HttpMethod.Get, $"http://127.0.0.1:{_port}/");
        configure?.Invoke(request);
        var response = await _client.SendAsync(request);
        return (await response.Content.ReadAsStringAsync(), response);
    }

    [Theory]
    [InlineData(10)]
    [InlineData(50)]
    public async Task TheObservedSplit_MatchesTheWeight_Over2000Requests(int weight)
    {
        Split(new TrafficSplit("v2", weight));
        const int total = 2000;
        var toCanary = 0;
        for (var i = 0; i < total; i++)
        {
            if ((await GetAsync()).Body == "canary")
            {
                toCanary++;
            }
        }
        // Binomial: 4.5 standard deviations either side (a false alarm about once in 150,000 runs).
        var expected = total * weight / 100.0;
        var tolerance = 4.5 * Math.Sqrt(total * (weight / 100.0) * (1 - weight / 100.0));
        Assert.InRange(toCanary, expected - tolerance, expected + tolerance);
    }

    [Fact]
    public async Task ABaseline_GetsTheCanarysShare_FromTheStableSide()
    {
        await using var baseline = await TestBackend.StartAsync("baseline");
        _router.Apply(new RoutingTable(
            new Dictionary<string, IReadOnlyList<RouteDestination>> { ["api"] = [new("s1", _stable.Port, "v1"), new("c1", _canary.Port, "v2"), new("b1", baseline.Port, "v1-baseline")] },
            new Dictionary<string, TrafficSplit> { ["api"] = new("v2", 20, Baseline: "v1-baseline") }));
        var counts = new Dictionary<string, int> { ["stable"] = 0, ["canary"] = 0, ["baseline"] = 0 };
        for (var i = 0; i < 2000; i++)
        {
            counts[(await GetAsync()).Body]++;
        }
        var tolerance = 4.5 * Math.Sqrt(2000 * 0.2 * 0.8);
        Assert.InRange(counts["canary"], 400 - tolerance, 400 + tolerance);
        Assert.InRange(counts["baseline"], 400 - tolerance, 400 + tolerance);
        Assert.Equal(2000, counts.Values.Sum());
    }

    [Fact]
    public async Task AHeaderMatch_AlwaysReachesTheCanary_EvenAtWeightZero()
    {
        Split(new TrafficSplit("v2", 0, new TrafficMatch("X-Canary", null, "1")));
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal("canary", (await GetAsync(r => r.Headers.Add("X-Canary", "1"))).Body);
            Assert.Equal("stable", (await GetAsync(r => r.Headers.Add("X-Canary", "0"))).Body);
            Assert.Equal("stable", (await GetAsync()).Body);
        }
    }

    [Fact]
    public async Task ACookieMatch_AlwaysReachesTheCanary()
    {
        Split(new TrafficSplit("v2", 5, new TrafficMatch(null, "beta", null)));
        for (var i = 0; i < 50; i++)
        {
            Assert.Equal("canary", (await GetAsync(r => r.Headers.Add("Cookie", "other=1; beta=yes"))).Body);
        }
    }

    [Fact]
    public async Task AUser_StaysOnTheirSide_WithTheCookieTheRouterSets()
    {
        Split(new TrafficSplit("v2", 50));
        var sides = new HashSet<string>();
        for (var user = 0; user < 20; user++)
        {
            var (first, response) = await GetAsync();
            var cookie = Assert.Single(response.Headers.GetValues("Set-Cookie"));
            Assert.StartsWith("flotilla-api=", cookie, StringComparison.Ordinal);
            var pair = cookie.Split(';')[0];
            sides.Add(first);
            for (var i = 0; i < 10; i++)
            {
                var (again, next) = await GetAsync(r => r.Headers.Add("Cookie", pair));
                Assert.Equal(first, again);
                Assert.False(next.Headers.Contains("Set-Cookie"));
            }
        }
        Assert.Equal(2, sides.Count);
    }

    [Fact]
    public async Task AStickyHeader_KeepsAUserOnOneSide_WithoutCookies()
    {
        Split(new TrafficSplit("v2", 50, null, "X-User"));
        var sides = new HashSet<string>();
        for (var user = 0; user < 20; user++)
        {
            var first = (await GetAsync(r => r.Headers.Add("X-User", $"user-{user}"))).Body;
            sides.Add(first);
            for (var i = 0; i < 5; i++)
            {
                Assert.Equal(first, (await GetAsync(r => r.Headers.Add("X-User", $"user-{user}"))).Body);
            }
        }
        Assert.Equal(2, sides.Count);
    }

    [Fact]
    public async Task AnEmptySide_SendsItsShareToTheOther()
    {
        _router.Apply(new RoutingTable(
            new Dictionary<string, IReadOnlyList<RouteDestination>> { ["api"] = [new("s1", _stable.Port, "v1")] },
            new Dictionary<string, TrafficSplit> { ["api"] = new("v2", 100) }));
        Assert.Equal("stable", (await GetAsync()).Body);
    }

    [Fact]
    public async Task WeightZero_SendsEverythingToStable_AtOnce()
    {
        Split(new TrafficSplit("v2", 100));
        Assert.Equal("canary", (await GetAsync()).Body);
        Split(new TrafficSplit("v2", 0));
        for (var i = 0; i < 100; i++)
        {
            Assert.Equal("stable", (await GetAsync()).Body);
        }
    }

    [Fact]
    public async Task Metrics_AreCountedPerRevision_AndExportedForPrometheus()
    {
        Split(new TrafficSplit("v2", 0, new TrafficMatch("X-Canary", null, null)));
        for (var i = 0; i < 30; i++)
        {
            await GetAsync();
        }
        for (var i = 0; i < 7; i++)
        {
            await GetAsync(r => r.Headers.Add("X-Canary", "yes"));
        }
        var (_, missing) = await GetAsync(r => r.RequestUri = new Uri($"http://127.0.0.1:{_port}/nowhere"));
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);

        // Through the wire form, as the control plane gets them from a router process.
        var intervals = (await _router.TakeMetricsAsync()).Select(i => RevisionInterval.FromWire(i.ToWire())).ToDictionary(i => i.Revision);
        Assert.Equal([0, 30, 0, 1, 0], intervals["v1"].Classes);
        Assert.Equal(31, intervals["v1"].Latency.TotalCount);
        Assert.Equal([0, 7, 0, 0, 0], intervals["v2"].Classes);
        Assert.Equal(0, (await _router.TakeMetricsAsync()).Sum(i => i.Requests));

        var text = await _router.PrometheusAsync();
        Assert.Contains("flotilla_requests_total{service=\"api\",revision=\"v1\",code=\"2xx\"} 30", text, StringComparison.Ordinal);
        Assert.Contains("flotilla_requests_total{service=\"api\",revision=\"v1\",code=\"4xx\"} 1", text, StringComparison.Ordinal);
        Assert.Contains("flotilla_requests_total{service=\"api\",revision=\"v2\",code=\"2xx\"} 7", text, StringComparison.Ordinal);
        Assert.Contains("flotilla_request_duration_seconds_bucket{service=\"api\",revision=\"v2\",le=\"+Inf\"} 7", text, StringComparison.Ordinal);
        Assert.Contains("flotilla_request_duration_seconds_count{service=\"api\",revision=\"v1\"} 31", text, StringComparison.Ordinal);
    }
}
