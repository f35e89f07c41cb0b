using Flotilla.Router;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Router;

/// <summary>
/// A router replica (a real <c>flotilla router</c> process on 127.0.0.2) fed through <see cref="RouterSet"/>: it
/// serves what the primary serves, and one that was killed and comes back is brought up to date, said in events.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class RouterReplicaTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private readonly List<(string Message, bool Warning)> _events = [];
    private TestBackend _a = null!;
    private TestBackend _b = null!;
    private NodeRouter _replica = null!;
    private IRouter _routers = null!;

    public async Task InitializeAsync()
    {
        _a = await TestBackend.StartAsync("a");
        _b = await TestBackend.StartAsync("b");
        _replica = new NodeRouter("127.0.0.2");
        _routers = RouterSet.Compose(new RouterHost(), [new Uri(_replica.Admin)], _replica.Secret, (message, warning) =>
        {
            lock (_events)
            {
                _events.Add((message, warning));
            }
        });
    }

    public async Task DisposeAsync()
    {
        // The replica's process is stopped even when the feed's disposal throws: it once did, and the process outlived the run.
        try
        {
            await _routers.DisposeAsync();
        }
        finally
        {
            await _replica.DisposeAsync();
            await _a.DisposeAsync();
            await _b.DisposeAsync();
        }
    }

    private bool Said(string text, bool warning)
    {
        lock (_events)
        {
            return _events.Any(e => e.Warning == warning && e.Message.Contains(text, StringComparison.Ordinal));
        }
    }

    private static RoutingTable To(TestBackend backend) =>
        new(new Dictionary<string, IReadOnlyList<RouteDestination>> { ["api"] = [new($"{backend.Name}1", backend.Port)] });

    private static async Task<string?> AnswerAsync(string url)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(3) };
        try
        {
            return await http.GetStringAsync(url);
        }
        catch (Exception e) when (e is HttpRequestException or TaskCanceledException)
        {
            return null;
        }
    }

    [Fact]
    public async Task AReplica_ServesTheSameEndpointOnTheSamePort_AndOneThatComesBack_GetsTheCurrentTable()
    {
        var port = await _routers.AddServiceAsync("api", null);
        await _routers.ApplyAsync(To(_a));
        Assert.Equal("a", await AnswerAsync($"http://127.0.0.1:{port}/"));
        await Eventually.Until(async () => await AnswerAsync(_replica.Url(port)) == "a", Wait, "the replica to serve api on the primary's port");

        // Its machine goes away: the next table is not waited for, and that is said.
        await _replica.KillAsync();
        var applied = System.Diagnostics.Stopwatch.StartNew();
        await _routers.ApplyAsync(To(_b));
        Assert.Equal("b", await AnswerAsync($"http://127.0.0.1:{port}/"));
        await Eventually.Until(() => Said($"router replica 127.0.0.2:{_replica.AdminPort}", warning: true), Wait, "an event saying the replica is away");
        // A second table while it is known to be away does not wait for it at all.
        applied.Restart();
        await _routers.ApplyAsync(To(_b));
        // Waiting for it would take RouterReplica.CallLimit (5 s); a loaded machine may take a second or two anyway.
        Assert.True(applied.Elapsed < TimeSpan.FromSeconds(3), $"the table waited {applied.Elapsed.TotalMilliseconds:0} ms for a replica that is away");

        // Back, it first serves its last table from its own disk, then the current one reaches it.
        _replica.Restart();
        await Eventually.Until(async () => await AnswerAsync(_replica.Url(port)) == "b", Wait, "the replica back with the current table");
        await Eventually.Until(() => Said("is back and up to date", warning: false), Wait, "an event saying the replica is back");
    }
}
