using System.Net;
using System.Net.Sockets;
using Flotilla.Net;
using Flotilla.Router;
using Flotilla.Router.Remote;
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
    public async Task ADestination_IsReachedAtItsHost_NotAlwaysAtLoopbacksAddress()
    {
        // "localhost" (from /etc/hosts, no DNS) stands for any host a runtime reports: a task's or a pod's address.
        Route(new RouteDestination("a1", _a.Port, Host: "localhost"));
        Assert.Equal("a", await _client.GetStringAsync(Url()));
        Assert.Equal($"http://localhost:{_a.Port}/", new RouteDestination("a1", _a.Port, Host: "localhost").Prefix);
        Assert.Equal("http://[fd00::7]:8080/", new RouteDestination("v6", 8080, Host: "fd00::7").Prefix);
    }

    [Fact]
    public async Task AnInstanceThatMoved_IsReachedAtItsNewAddress()
    {
        // On Swarm an instance keeps its name when its task is replaced on another node.
        Route(new RouteDestination("moving", _a.Port));
        Assert.Equal("a", await _client.GetStringAsync(Url()));
        Route(new RouteDestination("moving", _b.Port));
        for (var i = 0; i < 4; i++)
        {
            Assert.Equal("b", await _client.GetStringAsync(Url()));
        }
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
    public async Task RefusedConnection_IsRetriedOnAnotherInstance_EvenWithABody()
    {
        // Nothing was sent to an instance that could not be connected to, so repeating is safe for any method.
        Route(new("dead2", ClosedPort()), new("b3", _b.Port));
        for (var i = 0; i < 4; i++)
        {
            using var response = await _client.PostAsync(Url(), new StringContent("order"));
            Assert.Equal(HttpStatusCode.OK, response.StatusCode);
            Assert.Equal("b", await response.Content.ReadAsStringAsync());
        }
        Assert.Equal(4, _b.Requests);
    }

    [Fact]
    public async Task AGet_WhoseAnswerBrokeOffAfterItsHead_IsA502_NotRetried()
    {
        // The README's contract: retried only before any byte of an answer. An instance killed between
        // writing its head and its body (python's http.server writes them apart) gives the client a 502:
        // the one failure DockerTests' killed container may cause.
        var reports = new List<string>();
        await using var router = new RouterHost(message =>
        {
            lock (reports)
            {
                reports.Add(message);
            }
        });
        var port = await router.AddServiceAsync("api", null);
        await using var broken = RawBackend.Start("half", RawBackend.Behaviour.HeadThenHangUp);
        router.Apply(new RoutingTable(new Dictionary<string, IReadOnlyList<RouteDestination>> { ["api"] = [new("broken1", broken.Port), new("b6", _b.Port)] }));
        var (bBefore, statuses) = (_b.Requests, new List<HttpStatusCode>());
        for (var i = 0; i < 4; i++)
        {
            using var response = await _client.GetAsync($"http://127.0.0.1:{port}/");
            statuses.Add(response.StatusCode);
        }
        Assert.Equal(2, statuses.Count(s => s == HttpStatusCode.BadGateway));
        Assert.Equal(2, statuses.Count(s => s == HttpStatusCode.OK));
        Assert.Equal(2, broken.Requests);
        Assert.Equal(bBefore + 2, _b.Requests);
        lock (reports)
        {
            Assert.Contains(reports, r => r.Contains("answered 502 (ResponseBodyDestination); last tried instance broken1", StringComparison.Ordinal));
        }
    }

    [Fact]
    public async Task InstanceThatHangsUpAfterTheRequest_IsRetried_ForAGet_ButNotForAPost()
    {
        await using var hangUp = RawBackend.Start("h", RawBackend.Behaviour.HangUp);
        Route(new("hang1", hangUp.Port), new("b5", _b.Port));
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal("b", await _client.GetStringAsync(Url()));
        }
        Assert.True(hangUp.Requests >= 1, "no GET was sent to the instance that hangs up first, so none was retried");

        // A POST the instance read may have been acted on: it is not repeated, the client gets the 502.
        var (hangUpBefore, bBefore, answered, refused) = (hangUp.Requests, _b.Requests, 0, 0);
        for (var i = 0; i < 20 && refused == 0; i++)
        {
            using var response = await _client.PostAsync(Url(), new StringContent("order"));
            Assert.True(response.StatusCode is HttpStatusCode.OK or HttpStatusCode.BadGateway, $"a POST got {response.StatusCode}");
            _ = response.StatusCode == HttpStatusCode.OK ? answered++ : refused++;
        }
        Assert.True(refused == 1, "no POST reached the instance that hangs up");
        Assert.Equal(hangUpBefore + refused, hangUp.Requests);
        Assert.Equal(bBefore + answered, _b.Requests);
    }

    [Fact]
    public async Task EveryInstanceFailing_Is502_AfterThreeAttemptsInAll()
    {
        var hangUps = Enumerable.Range(0, 5).Select(i => RawBackend.Start($"h{i}", RawBackend.Behaviour.HangUp)).ToList();
        try
        {
            Route([.. hangUps.Select((h, i) => new RouteDestination($"hang-all{i}", h.Port))]);
            using var response = await _client.GetAsync(Url());
            Assert.Equal(HttpStatusCode.BadGateway, response.StatusCode);
            // Each of the three attempts on another instance; the two others never see the request.
            // (.NET's HTTP client itself re-sends a bodiless request a few times on the same
            // instance when a connection ends before any answer: hence counts, not ones.)
            var counts = string.Join(", ", hangUps.Select(h => h.Requests));
            Assert.True(hangUps.Count(h => h.Requests > 0) == 3, $"requests per instance: {counts}");
        }
        finally
        {
            foreach (var h in hangUps)
            {
                await h.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task Http10InstancesThatClosePerRequest_UnderConcurrency_GiveNo502()
    {
        // python's http.server and many small servers: HTTP/1.0, no keep-alive, the connection closed after each answer.
        var backends = Enumerable.Range(0, 3).Select(i => RawBackend.Start($"p{i}", RawBackend.Behaviour.Http10ClosePerRequest)).ToList();
        try
        {
            Route([.. backends.Select((b, i) => new RouteDestination($"http10-{i}", b.Port))]);
            using var load = new LoadClient(Url(), concurrency: 8);
            await Eventually.Until(() => backends.Sum(b => b.Requests) >= 300, TimeSpan.FromSeconds(60), "300 requests through the router");
            // Until an instance's first answer shows it is HTTP/1.0, requests already under way may reuse its connections.
            var reusedWhileLearning = backends.Sum(b => b.ReusedConnections);
            await Eventually.Until(() => backends.Sum(b => b.Requests) >= 6000, TimeSpan.FromSeconds(60), "6,000 requests through the router");
            var (ok, failed, failures) = await load.StopAsync();
            Assert.True(failed == 0, $"{failed} of {ok + failed} requests failed, e.g. {string.Join("; ", failures.Take(3))}");
            // The cause, not only its symptom (retries would hide most of it): once known, no request is sent on a connection such a server closes.
            Assert.Equal(reusedWhileLearning, backends.Sum(b => b.ReusedConnections));
            Assert.All(backends, b => Assert.True(b.Requests > 1000, $"{b.Requests} requests reached one instance: load was not spread"));
        }
        finally
        {
            foreach (var b in backends)
            {
                await b.DisposeAsync();
            }
        }
    }

    [Fact]
    public async Task FailedDestination_IsAvoided_ForAWhile()
    {
        var time = new Microsoft.Extensions.Time.Testing.FakeTimeProvider(DateTimeOffset.UtcNow);
        await using var router = new RouterHost(time: time);
        var url = $"http://127.0.0.1:{await router.AddServiceAsync("api", null)}/";
        void RouteTo(params RouteDestination[] destinations) =>
            router.Apply(new RoutingTable(new Dictionary<string, IReadOnlyList<RouteDestination>> { ["api"] = destinations }));

        // A refused connection marks an instance failed: alone in the table, all three attempts fail on it.
        var port = ClosedPort();
        RouteTo(new RouteDestination("flaky", port));
        using (var refused = await _client.GetAsync(url))
        {
            Assert.Equal(HttpStatusCode.BadGateway, refused.StatusCode);
        }

        // It comes back, beside a healthy one: round-robin would send it every other request, the penalty none.
        await using var back = await TestBackend.StartAsync("flaky", port: port);
        RouteTo(new RouteDestination("flaky", port), new RouteDestination("a3", _a.Port));
        time.Advance(DestinationState.PassiveFailurePenalty - TimeSpan.FromMilliseconds(1));
        for (var i = 0; i < 6; i++)
        {
            Assert.Equal("a", await _client.GetStringAsync(url));
        }

        // For a while, not for good: once the penalty is over it gets every other request again.
        time.Advance(TimeSpan.FromMilliseconds(1));
        var answers = new List<string>();
        for (var i = 0; i < 6; i++)
        {
            answers.Add(await _client.GetStringAsync(url));
        }
        Assert.Equal(3, answers.Count(a => a == "flaky"));
    }

    [Fact]
    public async Task RemovedInstance_GetsNoNewRequests_AndDrainWaitsForInFlightOnes()
    {
        Route(new RouteDestination("a4", _a.Port));
        var held = _client.GetStringAsync(Url("/held"));   // answered when the test releases it, not after a time
        await _a.HeldArrived.WaitAsync(TimeSpan.FromSeconds(10));

        Route(new RouteDestination("b4", _b.Port));
        Assert.Equal("b", await _client.GetStringAsync(Url()));
        Assert.Equal(0, _a.Requests);
        Assert.False(await _router.WaitForDrainAsync("a4", TimeSpan.FromMilliseconds(200)), "the drain ended with a request still in flight");

        _a.Release();
        Assert.True(await _router.WaitForDrainAsync("a4", TimeSpan.FromSeconds(10)), "the drain timed out");
        Assert.Equal(1, _a.HeldAnswered);
        Assert.Equal("a", await held);
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
    [Fact]
    public async Task ARouterRestoredOnHeldSockets_AnswersTheConnectionsWaitingOnThem_FromTheSavedTable_NeverWith503()
    {
        // The state a dead worker left on disk: endpoints, each with a ready instance (several: they open one by one).
        string[] services = ["api", "web", "orders", "reviews", "users", "search", "cart", "stock"];
        var stateFile = new RouterStateFile(Path.Combine(Path.GetTempPath(), $"flotilla-router-state-{Guid.NewGuid():N}.json"));
        try
        {
            await using (var dead = new RouterHost())
            {
                foreach (var service in services)
                {
                    await dead.AddServiceAsync(service, null);
                }
                dead.Apply(new RoutingTable(services.ToDictionary(s => s, IReadOnlyList<RouteDestination> (s) => [new($"{s}-1", _a.Port)])));
                stateFile.Save(dead);
            }

            // Its replacement: the supervisor's sockets, with clients already waiting in their backlogs.
            var held = new HeldSockets(services);
            await using var router = new RouterHost(listeners: held);
            using var client = new HttpClient(new SocketsHttpHandler { MaxConnectionsPerServer = 16 }) { Timeout = TimeSpan.FromSeconds(20) };
            var waiting = services.SelectMany(s => Enumerable.Range(0, 16).Select(_ => client.GetAsync($"http://127.0.0.1:{held.Port(s)}/"))).ToList();
            await Task.Delay(300);   // connected through the backlogs, requests sent, nobody accepting yet
            await stateFile.RestoreAsync(router, _ => { }, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));

            var codes = new List<HttpStatusCode>();
            foreach (var answer in waiting)
            {
                using var response = await answer.WaitAsync(TimeSpan.FromSeconds(30));
                codes.Add(response.StatusCode);
            }
            Assert.All(codes, code => Assert.Equal(HttpStatusCode.OK, code));
        }
        finally
        {
            File.Delete(stateFile.Path);
        }
    }

    /// <summary>
    /// Listening sockets opened before the router, handed over as the router's supervisor does: the endpoint owns
    /// each from then on (so they are not disposed here, as a worker owns the supervisor's copies).
    /// </summary>
    private sealed class HeldSockets : IListenerSource
    {
        private readonly Dictionary<string, Socket> _sockets = new(StringComparer.Ordinal);

        public HeldSockets(IEnumerable<string> services)
        {
            foreach (var service in services)
            {
                var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
                socket.Bind(new IPEndPoint(IPAddress.Loopback, 0));
                socket.Listen(256);
                _sockets[ServiceEndpoint.ListenerKey(service)] = socket;
            }
        }

        public int Port(string service) => ((IPEndPoint)_sockets[ServiceEndpoint.ListenerKey(service)].LocalEndPoint!).Port;

        public Task<ListenTarget> OpenAsync(string key, IPEndPoint address, CancellationToken cancellationToken = default)
        {
            var socket = _sockets[key];
            var bound = (IPEndPoint)socket.LocalEndPoint!;
            var handle = (ulong)socket.SafeHandle.DangerousGetHandle();
            socket.SafeHandle.SetHandleAsInvalid();
            return Task.FromResult(new ListenTarget(bound, handle));
        }

        public Task CloseAsync(string key) => Task.CompletedTask;
    }
}
