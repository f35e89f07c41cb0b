using System.Text.Json.Nodes;
using Flotilla.Runtime;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.EndToEnd;

/// <summary>The control plane as a service: a real server process, the CLI against it, kill -9 under load.</summary>
[Collection(ProcessHeavy.Name)]
public sealed class ServerTests
{
    private static readonly string Reviews = Path.Combine(Repository.Root, "examples", "shop", "services", "Reviews");

    private static string Spec(int reviews) => $$"""
        name: server-test
        zones: [a, b, c]
        services:
          reviews:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: {{Reviews}}
            instances: {{reviews}}
            http: { health: /healthz, ready: /ready }
          front:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: {{Reviews}}
            dependsOn: [reviews]
        """;

    private static IEnumerable<JsonNode> Instances(JsonNode ps) => ps.AsArray().Select(i => i!);

    [Fact]
    public async Task Cli_AppliesScalesAndInspects_ThroughTheApi_AndTokensAreEnforced()
    {
        using var harness = new ServerHarness();
        harness.WriteSpec(Spec(2));
        var server = await harness.StartServerAsync("read-only token (shown once)");
        var readToken = server.Lines.Single(l => l.StartsWith("read-only token (shown once): ", StringComparison.Ordinal)).Split(": ")[1];

        var (code, output) = await harness.CliAsync("apply", "-f", harness.SpecDirectory, "--wait");
        Assert.True(code == 0, output);
        Assert.Contains("revision 1 applied: +reviews (2), +front (1), zones [a, b, c]", output, StringComparison.Ordinal);
        Assert.Contains("converged: 3 instances ready", output, StringComparison.Ordinal);

        Assert.Equal(0, (await harness.CliAsync("scale", "reviews=3")).Code);
        await Eventually.Until(async () => (await harness.CliAsync("diff")).Code == 0, ServerHarness.Wait, "the scale to converge");
        var ps = await harness.JsonAsync("ps");
        Assert.Equal(["a", "b", "c"], Instances(ps).Where(i => (string?)i["service"] == "reviews").Select(i => (string)i["zone"]!).Order());
        var status = await harness.JsonAsync("status");
        Assert.Equal(3, (int)status["services"]![0]!["desired"]!);
        Assert.Equal(2, (int)status["services"]![0]!["declared"]!);

        // Two applies from revision 1 at once (two teammates, two CI jobs): one lands, the other is refused, not merged.
        var specA = Path.Combine(harness.SpecDirectory, "a.yaml");
        var specB = Path.Combine(harness.SpecDirectory, "b.yaml");
        File.WriteAllText(specA, Spec(3).Replace("dependsOn: [reviews]", "dependsOn: [reviews]\n    env: { WHO: a }", StringComparison.Ordinal));
        File.WriteAllText(specB, Spec(3).Replace("dependsOn: [reviews]", "dependsOn: [reviews]\n    env: { WHO: b }", StringComparison.Ordinal));
        var racing = await Task.WhenAll(harness.CliAsync("apply", "-f", specA, "--based-on", "1"), harness.CliAsync("apply", "-f", specB, "--based-on", "1"));
        Assert.Equal([0, 1], racing.Select(r => r.Code).Order());
        Assert.Contains("error: stale revision", racing.Single(r => r.Code == 1).Output, StringComparison.Ordinal);
        Assert.Contains("based on revision 1, but the latest is 2", racing.Single(r => r.Code == 1).Output, StringComparison.Ordinal);

        var (badCode, badOutput) = await harness.CliAsync("status", "--token", "flo_bogus");
        Assert.Equal(1, badCode);
        Assert.Contains("error: unknown token", badOutput, StringComparison.Ordinal);
        var readOnly = new Dictionary<string, string>(harness.Env) { ["FLOTILLA_TOKEN"] = readToken };
        Assert.Equal(0, (await ServerHarness.CliAsync(readOnly, "status")).Code);
        var (deniedCode, denied) = await ServerHarness.CliAsync(readOnly, "scale", "reviews=1");
        Assert.Equal(1, deniedCode);
        Assert.Contains("has the role 'viewer', which may not do this", denied, StringComparison.Ordinal);

        var (_, history) = await harness.CliAsync("history", "--audit");
        Assert.Contains("token:admin", history, StringComparison.Ordinal);
        Assert.Contains("reviews scaled to 3", history, StringComparison.Ordinal);
        Assert.Contains("reviews 1.0.0 listening", (await harness.CliAsync("logs", "reviews", "--tail", "5")).Output, StringComparison.Ordinal);

        Assert.Equal(0, (await harness.CliAsync("shutdown", "--stop-all")).Code);
        Assert.Equal(0, await server.WaitForExitAsync(ServerHarness.Wait));
        Assert.Contains("stopped everything", server.Lines);
        Assert.Empty(harness.DataPlanePids());
    }

    [Fact]
    public async Task KilledServer_UnderLoad_FailsNoRequest_AndTheNextOneAdoptsEveryInstance()
    {
        using var harness = new ServerHarness();
        harness.WriteSpec(Spec(3));
        var first = await harness.StartServerAsync();
        Assert.Equal(0, (await harness.CliAsync("apply", "-f", harness.SpecDirectory, "--wait")).Code);
        var endpoint = (string)(await harness.JsonAsync("status"))["services"]!.AsArray().Single(s => (string?)s!["name"] == "reviews")!["endpoint"]!;
        var before = Instances(await harness.JsonAsync("ps")).Select(i => ((string)i["id"]!, (int)i["pid"]!)).Order().ToList();
        var router = harness.RouterPid!.Value;
        var routerProcesses = ProcessScan.InGroup(router);
        var eventsBefore = (await harness.CliAsync("events")).Output;

        using (var load = new LoadClient(endpoint + "/", concurrency: 4))
        {
            await Task.Delay(1000);
            Posix.Signal(first.Pid, Posix.SIGKILL);
            await first.WaitForExitAsync(ServerHarness.Wait);
            await Task.Delay(1500);   // traffic flows with no control plane at all
            Assert.True(Posix.IsRunning(router, null), "the router outlives the control plane");

            var second = await harness.StartServerAsync("re-adopted 4 of 4 recorded instances");
            Assert.Contains(second.Lines, l => l.Contains($"router process {router} still serving: adopted it", StringComparison.Ordinal));
            await Task.Delay(1500);
            var (ok, failed, failures) = await load.StopAsync();
            Assert.True(failed == 0, $"{failed} failed requests of {ok + failed}: {string.Join("; ", failures.Distinct().Take(5))}");
            Assert.True(ok > 20, $"only {ok} requests went through");
        }

        // The same processes, none duplicated, none orphaned; desired state, history and events intact.
        var after = Instances(await harness.JsonAsync("ps")).Select(i => ((string)i["id"]!, (int)i["pid"]!)).Order().ToList();
        Assert.Equal(before, after);
        Assert.Equal(before.Select(b => b.Item2).Concat(routerProcesses).Order(), harness.DataPlanePids().Order());
        Assert.Equal(0, (await harness.CliAsync("diff")).Code);
        Assert.Contains("revision 1", (await harness.CliAsync("status")).Output, StringComparison.Ordinal);
        var history = (await harness.JsonAsync("history")).AsArray();
        Assert.Equal(1, (long)Assert.Single(history)!["number"]!);
        var eventsAfter = (await harness.CliAsync("events")).Output;
        Assert.StartsWith(eventsBefore.TrimEnd(), eventsAfter, StringComparison.Ordinal);

        // A router that dies is restarted by the control plane, on the same endpoint port.
        Posix.Signal(router, Posix.SIGKILL);
        using var client = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        await Eventually.Until(async () => harness.RouterPid != router && (await TryGet(client, endpoint)) == 200, ServerHarness.Wait, "a new router serving the same endpoint");
        Assert.Contains($"router process {router} is gone; starting a new one", (await harness.CliAsync("events")).Output, StringComparison.Ordinal);

        Assert.Equal(0, (await harness.CliAsync("shutdown", "--stop-all")).Code);
        Assert.Equal(0, await harness.Server.WaitForExitAsync(ServerHarness.Wait));
        Assert.Empty(harness.DataPlanePids());
    }

    private static async Task<int> TryGet(HttpClient client, string url)
    {
        try
        {
            using var response = await client.GetAsync(url + "/");
            return (int)response.StatusCode;
        }
        catch (HttpRequestException)
        {
            return 0;
        }
    }
}
