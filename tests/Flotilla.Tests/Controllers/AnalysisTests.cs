using Flotilla.Controllers.Rollouts;
using Flotilla.Model;
using Flotilla.Router.Metrics;
using HdrHistogram;
using Microsoft.AspNetCore.Builder;

namespace Flotilla.Tests.Controllers;

/// <summary>Analysis verdicts from router intervals: thresholds, too little data, comparison with stable, the rank test.</summary>
public sealed class AnalysisTests
{
    private static readonly DateTimeOffset T0 = new(2026, 1, 1, 0, 0, 0, TimeSpan.Zero);

    /// <summary>An interval of <paramref name="ok"/> 2xx and <paramref name="errors"/> 5xx, latencies spread evenly over ±20% of <paramref name="ms"/>.</summary>
    private static RevisionInterval Interval(string revision, int ok, int errors, double ms)
    {
        var latency = new LongHistogram(1, 600_000_000, 2);
        var n = ok + errors;
        for (var i = 0; i < n; i++)
        {
            latency.RecordValue((long)(ms * 1000 * (0.8 + 0.4 * (i + 0.5) / n)));
        }
        return new RevisionInterval("api", revision, [0, ok, 0, 0, errors], latency);
    }

    private static AnalysisRun Run(AnalysisSpec spec) => new("test", spec, "api", "v2", "v1", T0);

    [Fact]
    public async Task AHealthyCanary_Passes_AfterCountMeasurements()
    {
        var run = Run(new AnalysisSpec { Interval = TimeSpan.FromSeconds(5), Count = 2, MinRequests = 20, SuccessRate = Threshold.Parse(">= 99%", true, out _), P95 = Threshold.Parse("< 300ms", false, out _) });
        run.Add([Interval("v2", 100, 0, 50)]);
        Assert.Equal(AnalysisPhase.Running, await run.TickAsync(T0.AddSeconds(4), default));
        Assert.Equal(AnalysisPhase.Running, await run.TickAsync(T0.AddSeconds(5), default));
        run.Add([Interval("v2", 100, 0, 50)]);
        Assert.Equal(AnalysisPhase.Successful, await run.TickAsync(T0.AddSeconds(10), default));
        Assert.All(run.Report().Measurements, m => Assert.Equal(100, m.Canary.Requests));
    }

    [Fact]
    public async Task AFailingCanary_Fails_AtTheFirstMeasurementOverTheLimit()
    {
        var run = Run(new AnalysisSpec { Interval = TimeSpan.FromSeconds(1), Count = 5, MinRequests = 20, SuccessRate = Threshold.Parse(">= 99%", true, out _) });
        run.Add([Interval("v2", 80, 20, 50)]);
        Assert.Equal(AnalysisPhase.Failed, await run.TickAsync(T0.AddSeconds(1), default));
        Assert.Contains("success rate 80% is not >= 99%", run.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TooFewRequests_AreInconclusive_NeverAPass()
    {
        var run = Run(new AnalysisSpec { Interval = TimeSpan.FromSeconds(1), MinRequests = 50, SuccessRate = Threshold.Parse(">= 99%", true, out _) });
        run.Add([Interval("v2", 49, 0, 50)]);
        Assert.Equal(AnalysisPhase.Inconclusive, await run.TickAsync(T0.AddSeconds(1), default));
        Assert.Contains("49 requests reached revision v2", run.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailureLimit_ToleratesThatManyFailedMeasurements()
    {
        var run = Run(new AnalysisSpec { Interval = TimeSpan.FromSeconds(1), Count = 3, FailureLimit = 1, MinRequests = 10, SuccessRate = Threshold.Parse(">= 99%", true, out _) });
        run.Add([Interval("v2", 10, 5, 50)]);
        Assert.Equal(AnalysisPhase.Running, await run.TickAsync(T0.AddSeconds(1), default));
        run.Add([Interval("v2", 100, 0, 50)]);
        Assert.Equal(AnalysisPhase.Running, await run.TickAsync(T0.AddSeconds(2), default));
        run.Add([Interval("v2", 100, 0, 50)]);
        Assert.Equal(AnalysisPhase.Successful, await run.TickAsync(T0.AddSeconds(3), default));
    }

    [Fact]
    public async Task ComparedWithStable_ASlowerCanary_Fails_AndAnEqualOne_Passes()
    {
        var spec = new AnalysisSpec { Interval = TimeSpan.FromSeconds(1), MinRequests = 50, Compare = new CompareSpec(20, 1, 0.01) };
        var slow = Run(spec);
        slow.Add([Interval("v2", 500, 0, 80), Interval("v1", 500, 0, 40)]);
        Assert.Equal(AnalysisPhase.Failed, await slow.TickAsync(T0.AddSeconds(1), default));
        Assert.Contains("more than 20% above stable's", slow.Reason, StringComparison.Ordinal);
        Assert.Contains("Mann-Whitney", slow.Reason, StringComparison.Ordinal);

        var same = Run(spec);
        same.Add([Interval("v2", 500, 0, 40), Interval("v1", 500, 0, 40)]);
        Assert.Equal(AnalysisPhase.Successful, await same.TickAsync(T0.AddSeconds(1), default));
    }

    [Fact]
    public void TheRankTest_FindsAShift_AndNotNoise()
    {
        var same = MannWhitney.PValueGreater(Interval("v2", 1000, 0, 40).Latency, Interval("v1", 1000, 0, 40).Latency);
        var shifted = MannWhitney.PValueGreater(Interval("v2", 1000, 0, 44).Latency, Interval("v1", 1000, 0, 40).Latency);
        var faster = MannWhitney.PValueGreater(Interval("v2", 1000, 0, 36).Latency, Interval("v1", 1000, 0, 40).Latency);
        Assert.InRange(same, 0.4, 0.6);
        Assert.True(shifted < 0.001, $"p = {shifted}");
        Assert.True(faster > 0.999, $"p = {faster}");
    }

    [Fact]
    public async Task AWebhookThatRefuses_FailsTheMeasurement()
    {
        var run = Run(new AnalysisSpec { Interval = TimeSpan.FromSeconds(1), Webhooks = [new WebhookSpec($"http://127.0.0.1:{Flotilla.Net.PortAllocator.Next()}/check", TimeSpan.FromSeconds(2))] });
        Assert.Equal(AnalysisPhase.Failed, await run.TickAsync(T0.AddSeconds(1), default));
        Assert.Contains("failed", run.Reason, StringComparison.Ordinal);
    }

    [Theory]
    [InlineData(200)]
    [InlineData(204)]
    [InlineData(299)]
    [InlineData(500)]
    [InlineData(404)]
    public async Task AWebhook_PassesTheMeasurementOnAny2xx_AndFailsOnAnythingElse_AndIsToldTheRelease(int status)
    {
        var calls = new List<System.Text.Json.Nodes.JsonNode?>();
        await using var hook = await Support.TestBackend.StartAsync("hook", app => app.MapPost("/check", async (Microsoft.AspNetCore.Http.HttpRequest request) =>
        {
            var body = System.Text.Json.Nodes.JsonNode.Parse(await new StreamReader(request.Body).ReadToEndAsync());
            lock (calls)
            {
                calls.Add(body);
            }
            return Microsoft.AspNetCore.Http.Results.StatusCode(status);
        }));
        var run = Run(new AnalysisSpec { Interval = TimeSpan.FromSeconds(1), Webhooks = [new WebhookSpec($"http://127.0.0.1:{hook.Port}/check", TimeSpan.FromSeconds(10))] });

        var phase = await run.TickAsync(T0.AddSeconds(1), default);

        var call = Assert.Single(calls)!;
        Assert.Equal(("api", "v2", "v1", "test"), ((string?)call["service"], (string?)call["revision"], (string?)call["stable"], (string?)call["analysis"]));
        if (status is >= 200 and < 300)
        {
            Assert.Equal(AnalysisPhase.Successful, phase);
            Assert.Equal(["all checks passed"], Assert.Single(run.Report().Measurements).Reasons);
        }
        else
        {
            Assert.Equal(AnalysisPhase.Failed, phase);
            Assert.Contains($"webhook http://127.0.0.1:{hook.Port}/check answered {status}", run.Reason, StringComparison.Ordinal);
        }
    }
}
