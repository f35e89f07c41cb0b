using System.Net;
using System.Net.Sockets;
using Flotilla.Controllers.InstanceSets;
using Flotilla.Router;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Router;

/// <summary>The router with real sockets: real backends, real client, real failures.</summary>
public sealed class RouterHostTests : IAsyncLifetime
{
    private readonly RouterHost _router = new();
    private readonly HttpClient _client = new() { Timeout = TimeSpan.FromSeconds(10) };
    private TestBackend _a = null!;
    private TestBackend _b = null!;
    private int _port;

    public async Task InitializeAsync()
    {
        _a = await TestBackend.StartAsync("a");
        _b = await TestBackend.StartAsync("b");
        _port = await _router.AddServiceAsync("api", null);
    }

    public async Task DisposeAsync()
    {
        await _router.DisposeAsync();
        await _a.DisposeAsync();
        await _b.DisposeAsync();
        _client.Dispose();
    }

    private void Route(params RouteDestination[] destinations) =>
        _router.Apply(new RoutingTable(new Dictionary<string, IReadOnlyList<RouteDestination>> { ["api"] = destinations }));

    private string Url(string path = "/") => $"http://127.0.0.1:{_port}{path}";

    private static int ClosedPort() => PortAllocator.Next();

    [Fact]
    public async Task Requests_AreBalancedOverEveryDestination()
    {
        Route(new("a1", _a.Port), new("b1", _b.Port));
        var answers = new List<string>();
        for (var i = 0; i < 10; i++)
        {
            answers.Add(await _client.GetStringAsync(Url()));
        }
        Assert.Equal(5, answers.Count(a => a == "a"));
        Assert.Equal(5, answers.Count(a => a == "b"));
    }

    [Fact]
    public async Task NoReadyInstance_Is503_WithTheServiceNamed()
    {
        Route();
        using var response = await _client.GetAsync(Url());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.Contains("no ready instance of service 'api'", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailedConnection_IsRetriedOnAnotherInstance_ForSafeRequests()
    {
        Route(new("dead1", ClosedPort()), new("b2", _b.Port));
        for (var i = 0; i < 6; i++)
        {
            using var response = await _client.GetAsync(Url());
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("b", await response.Content.ReadAsStringAsync());
        }
    }

    [Fact]
    public async Task FailedConnection_IsNotRetried_ForRequestsWithABody()
    {
        Route(new("dead2", ClosedPort()), new("b3", _b.Port));
        using var response = await _client.PostAsync(Url(), new StringContent("order"));
        Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
        Assert.Equal(0, _b.Requests);
    }

    [Fact]
    public async Task FailedDestination_IsAvoided_ForAWhile()
    {
        Route(new("dead3", ClosedPort()), new("a3", _a.Port));
        await _client.GetStringAsync(Url());
        var before = _a.Requests;
        using var response = await _client.PostAsync(Url(), new StringContent("x"));
        Assert.Equal(HttpStatusCode.OK, response.StatusCode);
        Assert.Equal(before + 1, _a.Requests);
    }

    [Fact]
    public async Task RemovedInstance_GetsNoNewRequests_AndDrainWaitsForInFlightOnes()
    {
        Route(new RouteDestination("a4", _a.Port));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var slow = _client.GetStringAsync(Url("/slow"));   // the backend answers after 500 ms
        await Eventually.Until(() => !_router.WaitForDrainAsync("a4", TimeSpan.Zero).Result, TimeSpan.FromSeconds(5), "the slow request to be in flight");

        Route(new RouteDestination("b4", _b.Port));
        Assert.Equal("b", await _client.GetStringAsync(Url()));
        var drained = await _router.WaitForDrainAsync("a4", TimeSpan.FromSeconds(5));

        Assert.True(drained, "the drain timed out");
        Assert.True(clock.Elapsed >= TimeSpan.FromMilliseconds(450), $"the drain returned after {clock.ElapsedMilliseconds} ms, before the in-flight request ended");
        Assert.Equal("a", await slow);
    }

    [Fact]
    public async Task TakenFixedPort_IsReportedWithServiceAndPort()
    {
        using var squatter = new TcpListener(IPAddress.Loopback, 0);
        squatter.Start();
        var port = ((IPEndPoint)squatter.LocalEndpoint).Port;

        var e = await Assert.ThrowsAsync<EndpointBindException>(() => _router.AddServiceAsync("orders", port));
        Assert.Contains($"service 'orders': endpoint port {port} is already in use", e.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.ServiceUnavailable, (await _client.GetAsync(Url())).StatusCode);
    }
}
