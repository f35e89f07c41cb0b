using System.Text.Json.Nodes;
using Flotilla.Controllers.Rollouts;
using Flotilla.Hosting;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.EndToEnd;

/// <summary>Canary and blue-green releases for real: the example's reviews service, the router, analysis on live traffic.</summary>
[Collection(ProcessHeavy.Name)]
public sealed class ReleaseTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private static readonly string Reviews = Path.Combine(Repository.Root, "examples", "shop", "services", "Reviews");
    private readonly TempDirectory _dir = new("flotilla-release");
    private ControlPlane _plane = null!;

    private string DataDirectory => Path.Combine(_dir.Path, "data");

    public async Task InitializeAsync() => _plane = await ControlPlane.StartAsync(new ControlPlaneOptions(DataDirectory));

    public async Task DisposeAsync()
    {
        await _plane.StopDataPlaneAsync();
        await _plane.DisposeAsync();
        Assert.Empty(ProcessScan.Mentioning(_dir.Path));
        _dir.Dispose();
    }

    // 20% and 3 s intervals: enough canary requests per interval even when the 2 cores are shared with other tests.
    private const string Canary = """
        strategy: canary
        match: { header: X-Canary, value: "1" }
        progressDeadline: 30s
        steps:
          - weight: 20
          - analysis: { interval: 3s, count: 2, minRequests: 10, successRate: ">= 95%" }
          - weight: 50
          - analysis: { interval: 3s, count: 2, minRequests: 10, successRate: ">= 95%" }
        """;

    private Task<ApplyResult> ApplyAsync(string version, string rollout, string extraEnv = "")
    {
        var yaml = $$"""
            name: release-test
            services:
              reviews:
                command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
                files: {{Reviews}}
                instances: 2
                http: { health: /healthz, ready: /ready }
                env: { REVIEWS_VERSION: "{{version}}"{{extraEnv}} }
                rollout:
            {{string.Join('\n', rollout.Split('\n').Select(l => "          " + l))}}
            """;
        var file = Path.Combine(_dir.Path, "flotilla.yaml");
        File.WriteAllText(file, yaml);
        return _plane.ApplyAsync(new ApplyRequest(yaml, file, null, null, "test"));
    }

    private string Endpoint => $"http://127.0.0.1:{_plane.Endpoints["reviews"]}";

    private ReleaseStatus Release => _plane.Rollout("reviews").Release!;

    /// <summary>Waits; on a timeout, says what the control plane said last.</summary>
    private async Task Until(Func<bool> condition, string what)
    {
        try
        {
            await Eventually.Until(condition, Wait, what);
        }
        catch (TimeoutException e)
        {
            throw new TimeoutException($"{e.Message}; last events: {string.Join(" | ", _plane.Events.Since(0).TakeLast(12).Select(x => $"{x.Subject}: {x.Message}"))}");
        }
    }

    private async Task<string> VersionAsync(string url, string? canaryHeader = null)
    {
        using var http = new HttpClient();
        using var request = new HttpRequestMessage(HttpMethod.Get, url);
        if (canaryHeader is not null)
        {
            request.Headers.Add("X-Canary", canaryHeader);
        }
        using var response = await http.SendAsync(request);
        return (string)JsonNode.Parse(await response.Content.ReadAsStringAsync())!["version"]!;
    }

    [Fact]
    public async Task AGoodCanary_Goes20_50_100_ByItself_OnLiveMetrics_WithNoFailedRequest()
    {
        await ApplyAsync("1.0.0", Canary);
        await _plane.WaitUntilConvergedAsync(Wait);
        using var client = new VersionClient(Endpoint + "/", loops: 4);
        await ApplyAsync("2.0.0", Canary);
        var v2 = _plane.State.Find("reviews")!.Revision;

        await Until(() => Release.Weight == 20, "the canary at 20%");
        await Eventually.Until(async () => await VersionAsync(Endpoint + "/", canaryHeader: "1") == "reviews 2.0.0", Wait, "X-Canary: 1 to reach the canary");
        await Until(() => Release.Weight == 50, "the canary at 50%");
        await Until(() => _plane.Rollout("reviews") is { State: "complete", Old: 0 }, "the release to complete");
        await Task.Delay(300);
        var (versions, failures) = await client.StopAsync();

        Assert.True(failures.Count == 0, $"{failures.Count} failed: {string.Join("; ", failures.Take(5))}");
        Assert.Equal("reviews 2.0.0", versions[^1]);
        Assert.DoesNotContain("reviews 1.0.0", versions.TakeLast(20));
        var release = Release;
        Assert.Equal((ReleasePhase.Complete, 100, v2), (release.Phase, release.Weight, release.Target));
        Assert.Equal(2, release.Analyses.Count);
        Assert.All(release.Analyses, a => Assert.Equal(AnalysisPhase.Successful, a.Phase));
        var events = _plane.Events.Since(0).Select(e => e.Message).ToList();
        Assert.Contains(events, m => m.StartsWith("canary at 20% of traffic", StringComparison.Ordinal));
        Assert.Contains(events, m => m.StartsWith("canary at 50% of traffic", StringComparison.Ordinal));
        Assert.Contains(events, m => m.StartsWith($"promoted: all traffic on revision {v2}", StringComparison.Ordinal));
    }

    [Fact]
    public async Task ABadCanary_IsAbortedByAnalysis_AllTrafficBackOnStable_ThenRetryAndAbortByHand()
    {
        await ApplyAsync("1.0.0", Canary);
        await _plane.WaitUntilConvergedAsync(Wait);
        var v1 = _plane.State.Find("reviews")!.Revision;
        using var client = new VersionClient(Endpoint + "/", loops: 3);
        await ApplyAsync("2.0.0", Canary, ", REVIEWS_FAIL_RATE: \"0.3\"");

        await Until(() => _plane.Rollout("reviews").State == "degraded", "the analysis to abort the canary");
        var aborted = Release;
        Assert.Equal((ReleasePhase.Aborted, 0), (aborted.Phase, aborted.Weight));
        Assert.Contains("success rate", aborted.Reason, StringComparison.Ordinal);
        Assert.Contains("is not >= 95%", aborted.Reason, StringComparison.Ordinal);
        // All traffic on stable: after the table swap (bench/release.sh measures how soon) every answer is 1.0.0 and
        // a success. The abort is recorded before the swap; requests already sent to the canary finish there.
        await Until(() => _plane.Routes.SplitsOrEmpty.GetValueOrDefault("reviews") is null or { Weight: 0 }, "the router to take the canary out");
        await Task.Delay(500);
        var (seenVersions, seenFailures) = client.Seen();
        await Until(() => client.Seen().Versions.Count > seenVersions.Count + 200, "200 more answers");
        var (versions, failures) = await client.StopAsync();
        Assert.All(versions.Skip(seenVersions.Count), v => Assert.Equal("reviews 1.0.0", v));
        Assert.Equal(seenFailures.Count, failures.Count);
        Assert.All(failures, f => Assert.Contains("reviews 2.0.0", f, StringComparison.Ordinal));
        await Until(() => _plane.Status().Services.Single().Instances.Where(i => i.IsLive).All(i => i.Revision == v1), "the canary instances to be stopped");

        var retried = await _plane.RetryReleaseAsync("reviews", "test");
        Assert.Equal((ReleasePhase.Progressing, 0), (retried.Phase, retried.Step));
        var abortedByHand = await _plane.AbortReleaseAsync("reviews", "someone");
        Assert.Equal("aborted by someone", abortedByHand.Reason);
        Assert.Equal(ControlPlaneError.Conflict, (await Assert.ThrowsAsync<ControlPlaneException>(() => _plane.PromoteReleaseAsync("reviews", false, "test"))).Kind);
        Assert.Contains(_plane.Store.Audit(), a => a.Action == "rollout abort" && a.Actor == "someone");
    }

    [Fact]
    public async Task BlueGreen_PreviewsTheNewColour_SwitchesOnPromote_WithNoFailedRequest_AndUndoIsInstant()
    {
        const string blueGreen = "strategy: blueGreen\npreview: true\nautoPromote: false\nscaleDownDelay: 30s";
        await ApplyAsync("1.0.0", blueGreen);
        await _plane.WaitUntilConvergedAsync(Wait);
        var blue = _plane.State.Find("reviews")!.Revision;
        using var client = new VersionClient(Endpoint + "/", loops: 3);
        await ApplyAsync("2.0.0", blueGreen);

        await Until(() => Release.Phase == ReleasePhase.Paused, "the green colour ready and waiting for promote");
        var preview = $"http://127.0.0.1:{_plane.Endpoints["reviews.preview"]}";
        Assert.Equal("reviews 2.0.0", await VersionAsync(preview + "/"));
        Assert.Equal("reviews 1.0.0", await VersionAsync(Endpoint + "/"));
        var live = _plane.Status().Services.Single().Instances.Where(i => i.IsLive).ToList();
        Assert.Equal(4, live.Count);

        await _plane.PromoteReleaseAsync("reviews", false, "test");
        var switched = client.Seen().Versions.Count;
        await Until(() => client.Seen().Versions.Skip(switched).Count(v => v == "reviews 2.0.0") > 50, "answers from green");
        // Requests already on their way to blue at the switch finish there; every later one is green's.
        Assert.All(client.Seen().Versions.TakeLast(40), v => Assert.Equal("reviews 2.0.0", v));

        // Within the scale-down delay blue is still warm: undo moves traffic back at once.
        var undoAt = DateTime.UtcNow;
        await _plane.UndoRolloutAsync("reviews", null, "test");
        await Eventually.Until(async () => await VersionAsync(Endpoint + "/") == "reviews 1.0.0", TimeSpan.FromSeconds(5), "traffic back on blue");
        Assert.True(DateTime.UtcNow - undoAt < TimeSpan.FromSeconds(2), $"undo took {(DateTime.UtcNow - undoAt).TotalMilliseconds:0} ms");
        await Until(() => _plane.Rollout("reviews") is { State: "complete", Old: 0 }, "green to be scaled down");
        var (_, failures) = await client.StopAsync();
        Assert.True(failures.Count == 0, $"{failures.Count} failed: {string.Join("; ", failures.Take(5))}");
        Assert.Equal(blue, _plane.State.Find("reviews")!.Revision);
    }

    [Fact]
    public async Task AnAnalysisAgainstAFreshBaseline_StartsStableInstancesForIt_ComparesWithThem_AndStopsThemAfter()
    {
        const string withBaseline = """
            strategy: canary
            steps:
              - weight: 50
              - analysis: { interval: 2s, count: 1, minRequests: 10, baseline: true, compare: { successRate: "-5%", rankTest: 0.01 } }
              - pause: {}
            """;
        // At 50% the baseline takes the other half of the users: the long-running stable instances get no request
        // during the analysis, so a comparison with them instead of the baseline would find too few requests.
        await ApplyAsync("1.0.0", withBaseline);
        await _plane.WaitUntilConvergedAsync(Wait);
        var v1 = _plane.State.Find("reviews")!.Revision;
        var oldPids = _plane.Status().Services.Single().Instances.Select(i => i.Pid).Order().ToList();
        using var client = new VersionClient(Endpoint + "/", loops: 3);
        await ApplyAsync("2.0.0", withBaseline);

        await Until(() => _plane.Status().Services.Single().Instances.Any(i => i.Revision == $"{v1}-baseline" && i.InRotation), "a baseline instance");
        await Until(() => Release.Phase == ReleasePhase.Paused, "the analysis to pass and the pause to hold");
        var analysis = Assert.Single(Release.Analyses);
        Assert.Equal(AnalysisPhase.Successful, analysis.Phase);
        var measurement = Assert.Single(analysis.Measurements);
        Assert.True(measurement.Stable is { Requests: >= 10 }, $"the baseline side of the measurement: {measurement.Stable}");
        await Until(() => _plane.Status().Services.Single().Instances.Where(i => i.IsLive).All(i => !i.Revision.EndsWith("-baseline", StringComparison.Ordinal)), "the baseline to be stopped");
        var (_, failures) = await client.StopAsync();
        Assert.Empty(failures);
        // The long-running stable instances were never touched.
        Assert.Equal(oldPids, _plane.Status().Services.Single().Instances.Where(i => i.IsLive && i.Revision == v1).Select(i => i.Pid).Order());
        var text = await _plane.PrometheusAsync();
        Assert.Contains($"revision=\"{v1}-baseline\",code=\"2xx\"", text, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AParallelRun_FindsTheRealDifference_NotTheTimestampOrId_AbortsOverTheLimit_AndPromotesUnderIt()
    {
        const string parallel = """
            strategy: parallel
            parallel: { duration: 3s, minRequests: 30, maxMismatchRate: 5%, ignore: ["$.version"] }
            """;
        await ApplyAsync("1.0.0", parallel);
        await _plane.WaitUntilConvergedAsync(Wait);
        var v1 = _plane.State.Find("reviews")!.Revision;
        // Items 1, 2 and 3 in turn.
        using var client = new VersionClient(n => $"{Endpoint}/reviews/{n % 3 + 1}", loops: 2);

        // 2.0.0 rounds the average to a whole number: item 3 (4.5 stars) answers 5; items 1 and 2 answer the same.
        await ApplyAsync("2.0.0", parallel, ", REVIEWS_AVERAGE: \"integer\"");
        await Until(() => _plane.Rollout("reviews").State == "degraded", "the parallel run to abort");
        var report = await _plane.ParallelReportAsync("reviews");
        Assert.True(report.Compared >= 30, $"compared {report.Compared}");
        var field = report.Fields[0];
        Assert.Equal(("$.average", "4.5", "5"), (field.Field, field.Stable, field.Candidate));
        Assert.True(report.MismatchRate is > 20 and < 50, $"{report.MismatchRate}%: {string.Join("; ", report.Fields.Select(f => $"{f.Field} {f.Count} {f.Stable}|{f.Candidate}"))}; noise {string.Join(", ", report.Noise.Select(n => n.Field))}");
        Assert.Contains(report.Noise, n => n.Field == "$.generatedAt");
        Assert.Contains(report.Noise, n => n.Field == "$.requestId");
        Assert.DoesNotContain(report.Fields, f => f.Field is "$.generatedAt" or "$.requestId" or "$.version");
        Assert.Contains("parallel run:", Release.Reason, StringComparison.Ordinal);

        // A faithful 2.0.1 passes the gate and takes all traffic.
        await ApplyAsync("2.0.1", parallel);
        await Until(() => _plane.Rollout("reviews") is { State: "complete", Old: 0 }, "the parallel run to pass and promote");
        var passed = await _plane.ParallelReportAsync("reviews");
        Assert.Equal(0, passed.Mismatches);
        await Task.Delay(500);
        var (versions, failures) = await client.StopAsync();
        Assert.Empty(failures);
        // Clients only ever got stable's answers until the promotion.
        Assert.DoesNotContain("reviews 2.0.0", versions);
        Assert.All(versions.TakeLast(10), v => Assert.Equal("reviews 2.0.1", v));
        Assert.NotEqual(v1, _plane.State.Find("reviews")!.Revision);
    }

    [Fact]
    public async Task AParallelStepInACanary_MirrorsToTheCanaryBeforeItGetsUsers_AndGoesOnWhenTheAnswersAgree()
    {
        const string canary = """
            strategy: canary
            steps:
              - parallel: { duration: 60s, requests: 20, minRequests: 10, maxMismatchRate: 5%, ignore: ["$.version"] }
              - weight: 50
              - pause: {}
            """;
        // The step ends at 20 comparisons, not after a fixed time: its clock starts when the step does,
        // and on a loaded machine the canary may take longer than a short duration to start.
        await ApplyAsync("1.0.0", canary);
        await _plane.WaitUntilConvergedAsync(Wait);
        using var client = new VersionClient(n => $"{Endpoint}/reviews/{n % 3 + 1}", loops: 2);
        await ApplyAsync("2.0.0", canary);
        await Until(() => Release is { Phase: ReleasePhase.Paused, Weight: 50 }, "the parallel step to pass and the canary to reach 50%");
        var report = await _plane.ParallelReportAsync("reviews");
        Assert.True(report.Compared >= 10 && report.Mismatches == 0, $"{report.Compared} compared, {report.Mismatches} differ");
        var (versions, failures) = await client.StopAsync();
        Assert.Empty(failures);
        Assert.Contains("reviews 2.0.0", versions);   // at 50%
    }

    [Fact]
    public async Task APausedRelease_SurvivesAControlPlaneRestart_AndIsPromotedAfterIt()
    {
        const string paused = "strategy: canary\nsteps: [{ weight: 20 }, { pause: {} }, { weight: 60 }]";
        await ApplyAsync("1.0.0", paused);
        await _plane.WaitUntilConvergedAsync(Wait);
        await ApplyAsync("2.0.0", paused);
        await Until(() => Release.Phase == ReleasePhase.Paused, "the pause step");

        await _plane.DisposeAsync();
        _plane = await ControlPlane.StartAsync(new ControlPlaneOptions(DataDirectory));
        var after = Release;
        Assert.Equal((ReleasePhase.Paused, 1, 20), (after.Phase, after.Step, after.Weight));
        // Held, not merely not yet moved: the restarted watch has looked at the release several times.
        await Until(() => _plane.RolloutLooks >= 4, "four looks of the restarted rollout watch");
        Assert.Equal((ReleasePhase.Paused, 1, 20), (Release.Phase, Release.Step, Release.Weight));

        await _plane.PromoteReleaseAsync("reviews", false, "test");
        await Until(() => _plane.Rollout("reviews") is { State: "complete", Old: 0 }, "the promoted release to complete");
        Assert.Equal("reviews 2.0.0", await VersionAsync(Endpoint + "/"));
    }
}
