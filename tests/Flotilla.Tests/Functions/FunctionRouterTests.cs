using System.Net;
using Flotilla.Router;
using Flotilla.Router.Functions;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Functions;

/// <summary>A function's endpoint in the router, with real sockets: requests held at zero, bounded holds, timeouts.</summary>
public sealed class FunctionRouterTests : IAsyncLifetime
{
    private readonly RouterHost _router = new();
    private readonly HttpClient _client = new() { Timeout = TimeSpan.FromSeconds(30) };
    private TestBackend _backend = null!;
    private int _port;

    public async Task InitializeAsync()
    {
        _backend = await TestBackend.StartAsync("fn");
        _port = await _router.AddServiceAsync("fn", null);
    }

    public async Task DisposeAsync()
    {
        _backend.Release();
        await _router.DisposeAsync();
        await _backend.DisposeAsync();
        _client.Dispose();
    }

    private void Route(FunctionRoute function, params RouteDestination[] destinations) =>
        _router.Apply(new RoutingTable(new Dictionary<string, IReadOnlyList<RouteDestination>> { ["fn"] = destinations }, Functions: new Dictionary<string, FunctionRoute> { ["fn"] = function }));

    private static FunctionRoute Function(int pending = 100, double budgetSeconds = 20, double timeoutSeconds = 20, string path = "/") =>
        new(path, pending, TimeSpan.FromSeconds(budgetSeconds), TimeSpan.FromSeconds(timeoutSeconds));

    private string Url(string path = "/") => $"http://127.0.0.1:{_port}{path}";

    private async Task<DemandReport> HeldAsync(int count)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(20);
        while (true)
        {
            var report = await _router.WaitForDemandAsync(0, TimeSpan.FromMilliseconds(100));
            if (report.Functions.Single().Held >= count)
            {
                return report;
            }
            Assert.True(DateTime.UtcNow < deadline, $"{count} requests were never held");
        }
    }

    [Fact]
    public async Task ARequestAtZero_IsHeld_AndForwardedTheMomentAnInstanceIsReady_WithTheColdStartHeader()
    {
        Route(Function());
        var requests = Enumerable.Range(0, 5).Select(_ => _client.GetAsync(Url())).ToList();
        var report = await HeldAsync(5);
        Assert.True(report.Sequence >= 1, "a held request raises the demand sequence (the control plane wakes on it)");
        Assert.All(requests, r => Assert.False(r.IsCompleted));
        Route(Function(), new RouteDestination("fn-1", _backend.Port));
        foreach (var response in await Task.WhenAll(requests))
        {
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("fn", await response.Content.ReadAsStringAsync());
            Assert.True(long.TryParse(response.Headers.GetValues("X-Flotilla-Cold-Start").Single(), out var heldMs) && heldMs >= 0);
        }
        // A warm request is not marked.
        var warm = await _client.GetAsync(Url());
        Assert.False(warm.Headers.Contains("X-Flotilla-Cold-Start"));
        var metrics = await _router.PrometheusAsync();
        Assert.Contains("flotilla_function_hold_seconds_count{function=\"fn\"} 5", metrics, StringComparison.Ordinal);
        Assert.Contains("flotilla_function_start_seconds_count{function=\"fn\"} 1", metrics, StringComparison.Ordinal);
        var demand = (await _router.WaitForDemandAsync(long.MaxValue, TimeSpan.Zero)).Functions.Single();
        Assert.Equal(6, demand.Requests);
        Assert.Equal(0, demand.Held);
        Assert.NotNull(demand.IdleMilliseconds);
    }

    [Fact]
    public async Task PastTheMostPendingRequests_TheNextGets503WithRetryAfter_AtOnce()
    {
        Route(Function(pending: 2));
        var held = new[] { _client.GetAsync(Url()), _client.GetAsync(Url()) };
        await HeldAsync(2);
        var refused = await _client.GetAsync(Url());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, refused.StatusCode);
        Assert.Equal(TimeSpan.FromSeconds(1), refused.Headers.RetryAfter?.Delta);
        Assert.Contains("hold.pending", await refused.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Route(Function(pending: 2), new RouteDestination("fn-1", _backend.Port));
        Assert.All(await Task.WhenAll(held), r => Assert.Equal(HttpStatusCode.OK, r.StatusCode));
    }

    [Fact]
    public async Task NoInstanceWithinTheStartBudget_Gets503WithRetryAfter_NeverAHang()
    {
        Route(Function(budgetSeconds: 0.5));
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var response = await _client.GetAsync(Url());
        Assert.Equal(HttpStatusCode.ServiceUnavailable, response.StatusCode);
        Assert.NotNull(response.Headers.RetryAfter);
        Assert.Contains("hold.budget", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.InRange(clock.Elapsed, TimeSpan.FromMilliseconds(400), TimeSpan.FromSeconds(15));
    }

    [Fact]
    public async Task ARequestPastTheTimeout_Gets504()
    {
        Route(Function(timeoutSeconds: 0.5), new RouteDestination("fn-1", _backend.Port));
        var response = await _client.GetAsync(Url("/held"));
        Assert.Equal(HttpStatusCode.GatewayTimeout, response.StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await _client.GetAsync(Url())).StatusCode);
    }

    [Fact]
    public async Task ARequestOutsideTheTriggerPath_Gets404_AndIsNotDemand()
    {
        Route(Function(path: "/thumbnail"));
        var response = await _client.GetAsync(Url("/other"));
        Assert.Equal(HttpStatusCode.NotFound, response.StatusCode);
        Assert.Contains("/thumbnail", await response.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        Assert.Equal(0, (await _router.WaitForDemandAsync(long.MaxValue, TimeSpan.Zero)).Functions.Single().Requests);
    }
}
