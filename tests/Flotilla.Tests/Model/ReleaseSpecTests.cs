using Flotilla.Model;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Model;

/// <summary>Canary and blue-green settings in the spec, and the step lists refused at apply.</summary>
public sealed class ReleaseSpecTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public ReleaseSpecTests() => _dir.Write("files/app.py", "print('hi')");

    public void Dispose() => _dir.Dispose();

    private SystemSpec Parse(string rollout) => SpecLoader.Parse($$"""
        name: shop
        services:
          api:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: files
            rollout:
        {{string.Join('\n', rollout.Split('\n').Select(l => "      " + l))}}
        """, Path.Combine(_dir.Path, "flotilla.yaml"), null);

    private IReadOnlyList<SpecError> Errors(string rollout) => Assert.Throws<SpecException>(() => Parse(rollout)).Errors;

    [Fact]
    public void ACanary_ReadsItsSteps_Targeting_AndAnalysis()
    {
        var rollout = Parse("""
            strategy: canary
            match: { header: X-Canary, value: "1" }
            steps:
              - weight: 10
              - pause: { duration: 30s }
              - analysis: { interval: 5s, count: 3, failureLimit: 1, minRequests: 40, successRate: ">= 99.5%", p95: "< 300ms", compare: { p95: "+20%", successRate: "-1%", rankTest: 0.01 }, webhooks: [{ url: "http://127.0.0.1:9/check", timeout: 2s }] }
              - weight: 50
              - pause: {}
            """).Services.Single().Rollout;

        Assert.Equal(RolloutStrategy.Canary, rollout.Strategy);
        Assert.Equal(new TrafficMatch("X-Canary", null, "1"), rollout.Match);
        Assert.Equal(5, rollout.Steps.Count);
        Assert.Equal(10, rollout.Steps[0].Weight);
        Assert.Equal(TimeSpan.FromSeconds(30), rollout.Steps[1].Pause!.Duration);
        Assert.Null(rollout.Steps[4].Pause!.Duration);
        var analysis = rollout.Steps[2].Analysis!;
        Assert.Equal((TimeSpan.FromSeconds(5), 3, 1, 40), (analysis.Interval, analysis.Count, analysis.FailureLimit, analysis.MinRequests));
        Assert.True(analysis.SuccessRate!.Passes(99.5));
        Assert.False(analysis.SuccessRate.Passes(99.4));
        Assert.True(analysis.P95!.Passes(299));
        Assert.False(analysis.P95.Passes(300));
        Assert.Equal(new CompareSpec(20, 1, 0.01), analysis.Compare);
        Assert.Equal("http://127.0.0.1:9/check", Assert.Single(analysis.Webhooks).Url);
    }

    [Fact]
    public void ABlueGreen_ReadsItsOptions()
    {
        var rollout = Parse("""
            strategy: blueGreen
            preview: 7300
            autoPromote: false
            scaleDownDelay: 1m
            prePromotionAnalysis: { successRate: ">= 99%" }
            postPromotionAnalysis: { webhooks: [{ url: "https://example.test/ok" }] }
            """).Services.Single().Rollout;

        Assert.Equal(RolloutStrategy.BlueGreen, rollout.Strategy);
        Assert.True(rollout.Preview);
        Assert.Equal(7300, rollout.PreviewPort);
        Assert.False(rollout.AutoPromote);
        Assert.Equal(TimeSpan.FromMinutes(1), rollout.ScaleDownDelay);
        Assert.NotNull(rollout.PrePromotionAnalysis);
        Assert.Equal(TimeSpan.FromSeconds(10), rollout.PostPromotionAnalysis!.Webhooks.Single().Timeout);
    }

    [Theory]
    [InlineData("strategy: canary\nsteps: [{ weight: 150 }]", "steps[0].weight", "a whole percentage of requests (0 to 100), got 150")]
    [InlineData("strategy: canary\nsteps: [{ weight: 12.5 }]", "steps[0].weight", "a whole percentage")]
    [InlineData("strategy: canary\nsteps: [{ setMirror: true }]", "steps[0].setMirror", "unknown key 'setMirror'; valid keys here: weight, pause, analysis")]
    [InlineData("strategy: canary\nsteps: [{ weight: 10, pause: {} }]", "steps[0]", "a step is exactly one of weight, pause, analysis or parallel")]
    [InlineData("strategy: canary", "rollout", "a canary needs steps")]
    [InlineData("strategy: canary\nsteps: [{ analysis: { successRate: \">= 99%\" } }, { weight: 50 }]", "steps[0]", "the canary gets no traffic (weight 0 and no match)")]
    [InlineData("strategy: canary\nsteps: [{ weight: 10 }, { analysis: {} }]", "steps[1].analysis", "an analysis needs something to judge")]
    [InlineData("strategy: canary\nsteps: [{ weight: 10 }, { analysis: { successRate: \"99\" } }]", "steps[1].analysis.successRate", "a comparison with a percentage such as \">= 99%\"")]
    [InlineData("strategy: canary\nsteps: [{ weight: 10 }, { analysis: { p95: \"> 300ms\" } }]", "steps[1].analysis.p95", "an upper bound such as \"< 300ms\"")]
    [InlineData("strategy: canary\nsteps: [{ weight: 10 }, { analysis: { compare: { rankTest: 2 } } }]", "steps[1].analysis.compare.rankTest", "a significance level")]
    [InlineData("strategy: canary\nsteps: [{ weight: 10 }, { analysis: { webhooks: [{ url: \"ftp://x\" }] } }]", "steps[1].analysis.webhooks[0].url", "must be an http:// or https:// URL")]
    [InlineData("strategy: canary\nsteps: [{ weight: 10 }]\nmatch: { value: \"1\" }", "rollout.match", "either a header or a cookie")]
    [InlineData("strategy: canary\nsteps: [{ weight: 10 }]\npreview: true", "rollout.preview", "'preview' belongs to strategy blueGreen; this rollout's strategy is canary")]
    [InlineData("strategy: blueGreen\nsteps: [{ weight: 10 }]", "rollout.steps", "'steps' belongs to strategy canary")]
    [InlineData("strategy: blueGreen\nprePromotionAnalysis: { successRate: \">= 99%\" }", "rollout.prePromotionAnalysis", "without 'preview: true'")]
    [InlineData("strategy: shadow", "rollout.strategy", "strategies: rolling, canary, blueGreen, parallel")]
    [InlineData("strategy: parallel\nparallel: { methods: [GET, POST] }", "rollout.parallel.methods", "sends writes to the candidate, which could change shared data; set mirrorWrites: true")]
    [InlineData("strategy: parallel\nparallel: { ignore: [version] }", "rollout.parallel.ignore", "neither a JSON path")]
    [InlineData("strategy: parallel\nparallel: { arrays: sorted }", "rollout.parallel.arrays", "must be ordered")]
    [InlineData("strategy: parallel\nparallel: { sample: 150% }", "rollout.parallel.sample", "a share of requests")]
    [InlineData("strategy: canary\nsteps: [{ weight: 10 }]\nparallel: {}", "rollout.parallel", "'parallel' belongs to strategy parallel")]
    [InlineData("strategy: canary\nmatch: { header: X }\nsteps: [{ analysis: { baseline: true, compare: { rankTest: true } } }]", "steps[0].analysis.baseline", "needs a weight between 1 and 99 before it and a compare block")]
    [InlineData("strategy: canary\nsteps: [{ weight: 10 }, { analysis: { baseline: true, successRate: \">= 99%\" } }]", "steps[1].analysis.baseline", "and a compare block")]
    [InlineData("strategy: blueGreen\npostPromotionAnalysis: { baseline: true, successRate: \">= 99%\" }", "rollout", "a baseline is for canary analysis steps")]
    public void AStepListTheRouterCannotPerform_IsRefused_WithWhereAndWhy(string rollout, string path, string fragment)
    {
        var errors = Errors(rollout);
        Assert.Contains(errors, e => e.Path.EndsWith(path, StringComparison.Ordinal) && e.Message.Contains(fragment, StringComparison.Ordinal));
    }

    [Fact]
    public void AParallelRun_ReadsWhatToMirror_HowToCompare_AndTheGate()
    {
        var rollout = Parse("""
            strategy: parallel
            parallel: { sample: 25%, methods: [GET, POST], mirrorWrites: true, duration: 30s, requests: 500, minRequests: 20, maxMismatchRate: 0.5%, headers: [Content-Type], ignore: ["$.at", "header:Date"], arrays: set, maxBodyBytes: 8Ki, autoPromote: false }
            """).Services.Single().Rollout;
        Assert.Equal(RolloutStrategy.Parallel, rollout.Strategy);
        var p = rollout.Parallel;
        Assert.Equal((25.0, true, 500, 20, 0.5, true, 8192, false), (p.Sample, p.MirrorWrites, p.Requests!.Value, p.MinRequests, p.MaxMismatchRate, p.ArraysAsSets, p.MaxBodyBytes, p.AutoPromote));
        Assert.Equal(["GET", "POST"], p.Methods);
        Assert.Equal(TimeSpan.FromSeconds(30), p.Duration);

        var step = Parse("strategy: canary\nsteps: [{ parallel: { sample: 50%, duration: 10s } }, { weight: 10 }]").Services.Single().Rollout.Steps[0].Parallel!;
        Assert.Equal((50.0, TimeSpan.FromSeconds(10)), (step.Sample, step.Duration));
    }

    [Fact]
    public void APreviewPort_MayNotBeAnotherEndpointsPort()
    {
        var errors = Assert.Throws<SpecException>(() => SpecLoader.Parse($$"""
            name: shop
            services:
              api:
                command: [python3, "${ARTIFACT}/app.py"]
                files: files
                http: { port: 7300 }
              web:
                command: [python3, "${ARTIFACT}/app.py"]
                files: files
                rollout: { strategy: blueGreen, preview: 7300 }
            """, Path.Combine(_dir.Path, "flotilla.yaml"), null)).Errors;
        Assert.Contains(errors, e => e.Path == "services.web.rollout.preview" && e.Message.Contains("port 7300 is already the endpoint of 'api'", StringComparison.Ordinal));
    }

    [Fact]
    public void AnAnalysisAtWeightZero_IsFine_WhenAMatchSendsItTraffic()
    {
        var rollout = Parse("""
            strategy: canary
            match: { cookie: beta }
            steps: [{ analysis: { successRate: ">= 99%" } }, { weight: 100 }]
            """).Services.Single().Rollout;
        Assert.Equal(new TrafficMatch(null, "beta", null), rollout.Match);
    }
}
