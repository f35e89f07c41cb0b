using Flotilla.Model;
using Flotilla.Router;
using Flotilla.Router.HAProxy;

namespace Flotilla.Tests.Router.HAProxy;

/// <summary>The HAProxy engine's pure parts: a split as server weights, and what it refuses at apply.</summary>
public sealed class HAProxyPlanTests
{
    private static RouteDestination[] Routes(int stable, int canary, int baseline = 0) =>
    [
        .. Enumerable.Range(0, stable).Select(i => new RouteDestination($"s{i}", 5000 + i, "v1")),
        .. Enumerable.Range(0, canary).Select(i => new RouteDestination($"c{i}", 6000 + i, "v2")),
        .. Enumerable.Range(0, baseline).Select(i => new RouteDestination($"b{i}", 7000 + i, "v1b")),
    ];

    [Theory]
    // stable, canary, baseline, weight -> the canary's, the baseline's and stable's share of the total weight, in percent
    [InlineData(3, 1, 0, 10, 10, 0, 90)]
    [InlineData(2, 3, 0, 25, 25, 0, 75)]
    [InlineData(3, 1, 0, 1, 1, 0, 99)]
    [InlineData(3, 1, 0, 0, 0, 0, 100)]
    [InlineData(3, 1, 0, 100, 100, 0, 0)]
    [InlineData(0, 2, 0, 10, 100, 0, 0)]   // no stable instance: the canary takes it all
    [InlineData(2, 0, 0, 50, 0, 0, 100)]   // no canary instance: stable takes it all
    [InlineData(3, 1, 1, 20, 20, 20, 60)]  // a baseline gets as many users as the canary, from stable's side
    [InlineData(3, 1, 1, 70, 70, 30, 0)]
    public void ASplit_IsServerWeightsThatGiveEachSideItsShare(int stable, int canary, int baseline, int weight, double canaryShare, double baselineShare, double stableShare)
    {
        var plan = HAProxyWeights.Plan(Routes(stable, canary, baseline), new TrafficSplit("v2", weight, Baseline: baseline > 0 ? "v1b" : null));

        Assert.All(plan, s => Assert.InRange(s.Weight, 0, HAProxyWeights.MaxWeight));
        double total = plan.Sum(s => s.Weight);
        double Share(string revision) => plan.Where(s => s.Revision == revision).Sum(s => s.Weight) * 100 / total;
        Assert.InRange(Share("v2"), canaryShare - 0.5, canaryShare + 0.5);
        Assert.InRange(Share("v1b"), baselineShare - 0.5, baselineShare + 0.5);
        Assert.InRange(Share("v1"), stableShare - 0.5, stableShare + 0.5);
    }

    [Fact]
    public void NoSplit_IsEqualWeights_AndNamesAreHAProxys()
    {
        var plan = HAProxyWeights.Plan([new("web-1", 5000, "v1"), new("web/2 x", 5001, "v1")], null);

        Assert.Equal([100, 100], plan.Select(s => s.Weight));
        Assert.Equal(["web-1", "web_2_x"], plan.Select(s => s.Name));
    }

    private const string Plain = "name: s\nservices:\n  api:\n    command: [x]\n    http: { port: 7000 }\n";

    [Theory]
    [InlineData("p95: \"< 500ms\"", "latency")]
    [InlineData("compare: { rankTest: 0.01 }", "latency")]
    public void AnAnalysisOnLatency_IsRefused_NamingTheEngineAndTheFix(string analysis, string named)
    {
        var spec = SpecLoader.Parse(Plain + $"    rollout:\n      strategy: canary\n      steps:\n        - weight: 10\n        - analysis: {{ interval: 5s, {analysis} }}\n", "/tmp/flotilla.yaml");

        var refusal = HAProxyRefusals.Refuse(spec);

        Assert.NotNull(refusal);
        Assert.Contains("service 'api'", refusal);
        Assert.Contains(named, refusal);
        Assert.Contains("--router-engine haproxy", refusal);
        Assert.Contains("--router-engine yarp", refusal);
    }

    [Theory]
    [InlineData("      match: { header: X-Canary, value: \"1\" }\n", "targeting")]
    [InlineData("      stickyHeader: X-User\n", "sticky header")]
    public void TargetingAndStickyHeaders_AreRefused(string rollout, string named)
    {
        var spec = SpecLoader.Parse(Plain + $"    rollout:\n      strategy: canary\n{rollout}      steps:\n        - weight: 10\n", "/tmp/flotilla.yaml");

        Assert.Contains(named, HAProxyRefusals.Refuse(spec));
    }

    [Fact]
    public void ACanaryJudgedOnSuccessRateAlone_IsServed()
    {
        var spec = SpecLoader.Parse(Plain + "    rollout:\n      strategy: canary\n      steps:\n        - weight: 10\n        - analysis: { interval: 5s, successRate: \">= 95%\", compare: { successRate: \"-2%\" } }\n", "/tmp/flotilla.yaml");

        Assert.Null(HAProxyRefusals.Refuse(spec));
        Assert.Null(HAProxyRefusals.Refuse(SpecLoader.Parse(Plain, "/tmp/flotilla.yaml")));
    }
}
