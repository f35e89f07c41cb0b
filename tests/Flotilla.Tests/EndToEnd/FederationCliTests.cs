using Flotilla.Tests.Support;

namespace Flotilla.Tests.EndToEnd;

/// <summary>
/// Federation the way a user drives it: <c>flotilla server</c>, <c>apply --wait</c> of a spec with two
/// local clusters, <c>flotilla clusters</c>, a verb on one cluster (<c>--cluster</c>), and a restarted server
/// that finds both clusters again with the same instances.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class FederationCliTests
{
    private const string Spec = """
        name: fed-cli
        services:
          web:
            command: [python3, -m, http.server, "${PORT}"]
            http: { ready: / }
        release: { clusters: ordered }
        clusters:
          - { name: first, kind: local }
          - { name: second, kind: local, instances: 2 }
        """;

    [Fact]
    public async Task ApplyWait_Clusters_AndOneClustersVerbs_WorkThroughTheServer_AndSurviveItsRestart()
    {
        using var harness = new ServerHarness();
        harness.WriteSpec(Spec);
        var server = await harness.StartServerAsync();

        var (code, output) = await harness.CliAsync("apply", "-f", harness.SpecDirectory, "--wait");
        Assert.True(code == 0, output);
        Assert.Contains("revision 1 applied: 2 clusters (first: local, second: local), ordered: 'first' first", output, StringComparison.Ordinal);

        (code, output) = await harness.CliAsync("clusters");
        Assert.True(code == 0 && output.Contains("released cluster by cluster", StringComparison.Ordinal) && output.Contains("second", StringComparison.Ordinal), output);
        var clusters = (await harness.JsonAsync("clusters"))["clusters"]!.AsArray();
        Assert.Equal([("first", "healthy", 1), ("second", "healthy", 2)], clusters.Select(c => ((string)c!["name"]!, (string)c["health"]!, (int)c["ready"]!)));

        var pids = (await harness.JsonAsync("ps", "--cluster", "second")).AsArray().Select(i => (int)i!["pid"]!).Order().ToList();
        Assert.Equal(2, pids.Count);
        (code, output) = await harness.CliAsync("ps");
        Assert.True(code == 1 && output.Contains("runs over clusters (first, second): name one with --cluster NAME", StringComparison.Ordinal), output);

        // A restarted server finds both clusters and adopts their instances (same pids).
        (code, output) = await harness.CliAsync("shutdown");
        Assert.True(code == 0, output);
        var exited = await Task.WhenAny(server.WaitForExitAsync(ServerHarness.Wait), Task.Delay(ServerHarness.Wait + TimeSpan.FromSeconds(5)));
        Assert.True(exited is Task<int> { IsCompletedSuccessfully: true, Result: 0 }, $"the server did not exit after 'shutdown':\n{server.Output}");
        await harness.StartServerAsync();
        await Eventually.Until(async () => (await harness.JsonAsync("clusters"))["clusters"]!.AsArray().All(c => (string)c!["health"]! == "healthy"),
            ServerHarness.Wait, "both clusters healthy after the restart");
        Assert.Equal(pids, (await harness.JsonAsync("ps", "--cluster", "second")).AsArray().Select(i => (int)i!["pid"]!).Order().ToList());
        Assert.Equal(1, (int)(await harness.JsonAsync("clusters"))["revision"]!);

        (code, output) = await harness.CliAsync("shutdown", "--stop-all");
        Assert.True(code == 0, output);
        await Eventually.Until(() => pids.All(p => !Flotilla.Runtime.Posix.IsRunning(p, null)), ServerHarness.Wait, "the clusters' instances to stop with --stop-all");
    }
}
