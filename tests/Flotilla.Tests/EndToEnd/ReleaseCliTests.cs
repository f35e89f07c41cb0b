using System.Text.Json.Nodes;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.EndToEnd;

/// <summary>Steering releases from the CLI against a real server, whose router is its own process.</summary>
[Collection(ProcessHeavy.Name)]
public sealed class ReleaseCliTests
{
    private static readonly string Reviews = Path.Combine(Repository.Root, "examples", "shop", "services", "Reviews");

    private static string Spec(string version) => $$"""
        name: release-cli
        services:
          reviews:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: {{Reviews}}
            instances: 2
            http: { health: /healthz, ready: /ready }
            env: { REVIEWS_VERSION: "{{version}}" }
            rollout:
              strategy: canary
              match: { cookie: beta, value: "yes" }
              steps: [{ weight: 25 }, { pause: {} }, { weight: 75 }, { pause: {} }]
        """;

    [Fact]
    public async Task PromoteAbortAndRetry_FromTheCli_AreRecorded_AndMetricsArePerRevision()
    {
        using var harness = new ServerHarness();
        harness.WriteSpec(Spec("1.0.0"));
        var exporter = Flotilla.Net.PortAllocator.Next();
        await harness.StartServerAsync(null, "--metrics", $"127.0.0.1:{exporter}");
        Assert.Equal(0, (await harness.CliAsync("apply", "-f", harness.SpecDirectory, "--wait")).Code);

        harness.WriteSpec(Spec("2.0.0"));
        var (waitCode, waitOutput) = await harness.CliAsync("apply", "-f", harness.SpecDirectory, "--wait");
        Assert.True(waitCode == 3, waitOutput);
        Assert.Contains("not waiting longer: paused: canary of revision", waitOutput, StringComparison.Ordinal);

        var status = await harness.JsonAsync("rollout", "status", "reviews", "--no-wait");
        Assert.Equal("paused", (string?)status["state"]);
        Assert.Equal(25, (int)status["release"]!["weight"]!);
        var service = (await harness.JsonAsync("status"))["services"]![0]!;
        Assert.StartsWith("paused: canary of revision", (string?)service["release"], StringComparison.Ordinal);
        var condition = service["conditions"]!.AsArray().Single()!;
        Assert.Equal(("paused", "RolloutPaused"), ((string?)condition["type"], (string?)condition["reason"]));
        Assert.StartsWith("canary of revision", (string?)condition["message"], StringComparison.Ordinal);
        var endpoint = service["endpoint"]!.ToString();
        using (var http = new HttpClient(new SocketsHttpHandler { UseCookies = false }))
        {
            for (var i = 0; i < 20; i++)
            {
                using var request = new HttpRequestMessage(HttpMethod.Get, endpoint + "/");
                request.Headers.Add("Cookie", "beta=yes");
                using var response = await http.SendAsync(request);
                Assert.Equal("reviews 2.0.0", (string?)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["version"]);
            }
        }
        var (metricsCode, metrics) = await harness.CliAsync("metrics");
        Assert.True(metricsCode == 0, metrics);
        var canary = (string)status["release"]!["target"]!;
        Assert.Contains($"flotilla_requests_total{{service=\"reviews\",revision=\"{canary}\",code=\"2xx\"}} 20", metrics, StringComparison.Ordinal);
        using (var scrape = new HttpClient())
        {
            // The router process serves the same counts itself, without a token (as Prometheus scrapes).
            Assert.Contains($"revision=\"{canary}\",code=\"2xx\"}} 20", await scrape.GetStringAsync($"http://127.0.0.1:{exporter}/metrics"), StringComparison.Ordinal);
        }

        var (promoteCode, promoted) = await harness.CliAsync("rollout", "promote", "reviews");
        Assert.True(promoteCode == 0, promoted);
        await Eventually.Until(async () => (await harness.JsonAsync("rollout", "status", "reviews", "--no-wait"))["release"]!["weight"]!.GetValue<int>() == 75, ServerHarness.Wait, "75%");

        var (abortCode, aborted) = await harness.CliAsync("rollout", "abort", "reviews");
        Assert.True(abortCode == 0, aborted);
        Assert.Contains("aborted, 0% of traffic on it (aborted by", aborted, StringComparison.Ordinal);
        var (statusCode, statusText) = await harness.CliAsync("rollout", "status", "reviews");
        Assert.True(statusCode == 1, statusText);
        Assert.Contains("degraded", statusText, StringComparison.Ordinal);
        var (diffCode, diff) = await harness.CliAsync("diff");
        Assert.True(diffCode == 2, diff);
        Assert.Contains("degraded: canary of revision", diff, StringComparison.Ordinal);

        Assert.Equal(0, (await harness.CliAsync("rollout", "retry", "reviews")).Code);
        var (fullCode, full) = await harness.CliAsync("rollout", "promote", "reviews", "--full");
        Assert.True(fullCode == 0, full);
        await Eventually.Until(async () => (string?)(await harness.JsonAsync("rollout", "status", "reviews", "--no-wait"))["state"] == "complete", ServerHarness.Wait, "the full promotion");
        var audit = (await harness.CliAsync("history", "--audit")).Output;
        foreach (var action in new[] { "rollout promote", "rollout abort", "rollout retry", "rollout promote --full" })
        {
            Assert.Contains(action, audit, StringComparison.Ordinal);
        }
        Assert.Equal(0, (await harness.CliAsync("shutdown", "--stop-all")).Code);
    }
}
