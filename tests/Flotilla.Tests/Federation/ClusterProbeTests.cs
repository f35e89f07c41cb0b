using System.Diagnostics;
using System.Net;
using System.Net.Sockets;
using Flotilla.Federation;
using Flotilla.Tests.Kubernetes;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Federation;

/// <summary>
/// The reachability probe of a <c>kind: kubernetes</c> cluster, against real sockets: GET /version through the
/// context answers; a refused connection, an API server that accepts and never answers (bounded), and a context
/// no longer in the kubeconfig are each a cause that says so.
/// </summary>
public sealed class ClusterProbeTests : IDisposable
{
    private static readonly TimeSpan Bound = TimeSpan.FromMilliseconds(500);
    private readonly TempDirectory _dir = new("flotilla-probe");

    public void Dispose() => _dir.Dispose();

    private ClusterTarget Target(string kubeconfig, string context = "fake") => new("eu", "kubernetes", null, context, "shop", _dir.Write("kubeconfig", kubeconfig));

    [Fact]
    public async Task AnApiServerThatAnswersItsVersion_IsReachable_AndOneThatIsGone_IsRefused()
    {
        await using var api = await FakeApiServer.StartAsync();
        var target = Target(api.Kubeconfig("fake", "shop"));
        // The production bound here: the first request of a cold test process (JIT, the client's set-up) takes longer than the silent test's bound.
        Assert.Null(await ClusterProbe.UnreachableAsync(target, TimeSpan.FromSeconds(5), default));
        Assert.Contains(api.Requests, r => r.Method == "GET" && r.Path.TrimEnd('/') == "/version");

        await api.DownAsync();
        var cause = await ClusterProbe.UnreachableAsync(target, TimeSpan.FromSeconds(5), default);
        Assert.StartsWith($"the Kubernetes API server of context 'fake' ({api.Url}", cause, StringComparison.Ordinal);
        Assert.Contains("cannot be reached: Connection refused", cause, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnApiServerThatNeverAnswers_IsUnreachable_WithinTheBound()
    {
        using var silent = new TcpListener(IPAddress.Loopback, 0);
        silent.Start();
        var accepted = new List<Socket>();
        var accepting = Task.Run(async () =>
        {
            while (true)
            {
                accepted.Add(await silent.AcceptSocketAsync());
            }
        });
        try
        {
            var port = ((IPEndPoint)silent.LocalEndpoint).Port;
            var kubeconfig = $"apiVersion: v1\nkind: Config\nclusters: [{{ name: c, cluster: {{ server: 'http://127.0.0.1:{port}' }} }}]\nusers: [{{ name: u, user: {{ token: t }} }}]\ncontexts: [{{ name: fake, context: {{ cluster: c, user: u }} }}]\n";
            var clock = Stopwatch.StartNew();
            var cause = await ClusterProbe.UnreachableAsync(Target(kubeconfig), Bound, default);
            Assert.Equal($"the Kubernetes API server of context 'fake' (http://127.0.0.1:{port}) did not answer within 0.5 s", cause);
            Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"the probe took {clock.Elapsed}");
        }
        finally
        {
            silent.Stop();
            await accepting.ContinueWith(_ => { }, TaskScheduler.Default);
            accepted.ForEach(s => s.Dispose());
        }
    }

    [Fact]
    public async Task AContextNoLongerInTheKubeconfig_IsTheCause_NamingTheOnesThatAre()
    {
        await using var api = await FakeApiServer.StartAsync();
        var cause = await ClusterProbe.UnreachableAsync(Target(api.Kubeconfig("fake", "shop"), context: "gone"), Bound, default);
        Assert.Equal($"context 'gone' is not in kubeconfig {Path.Combine(_dir.Path, "kubeconfig")}; it has: fake", cause);
    }
}
