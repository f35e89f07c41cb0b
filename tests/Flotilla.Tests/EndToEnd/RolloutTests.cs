using System.Text.Json.Nodes;
using Flotilla.Hosting;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.EndToEnd;

/// <summary>Rollouts for real: processes, probes, the router, a client sending requests all along.</summary>
[Collection(ProcessHeavy.Name)]
public sealed class RolloutTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static readonly string Reviews = Path.Combine(Repository.Root, "examples", "shop", "services", "Reviews");
    private readonly TempDirectory _dir = new("flotilla-rollout");
    private ControlPlane _plane = null!;

    public async Task InitializeAsync() => _plane = await ControlPlane.StartAsync(new ControlPlaneOptions(Path.Combine(_dir.Path, "data")));

    public async Task DisposeAsync()
    {
        await _plane.StopDataPlaneAsync();
        await _plane.DisposeAsync();
        Assert.Empty(ProcessScan.Mentioning(_dir.Path));
        _dir.Dispose();
    }

    private Task<ApplyResult> ApplyAsync(string version, bool broken = false, string deadline = "30s")
    {
        var yaml = $$"""
            name: rollout-test
            services:
              reviews:
                command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
                files: {{Reviews}}
                instances: 3
                http: { health: /healthz, ready: /ready }
                env: { REVIEWS_VERSION: "{{version}}"{{(broken ? ", REVIEWS_BROKEN: \"1\"" : "")}} }
                rollout: { maxSurge: 1, maxUnavailable: 0, minReady: 300ms, progressDeadline: {{deadline}} }
            """;
        var file = Path.Combine(_dir.Path, "flotilla.yaml");
        File.WriteAllText(file, yaml);
        return _plane.ApplyAsync(new ApplyRequest(yaml, file, null, null, "test"));
    }

    private string Endpoint => _plane.Status().Services.Single().Endpoint!;

    private Task Complete(string revision) =>
        Eventually.Until(() => _plane.Rollout("reviews") is { State: "complete" } r && r.Revision == revision && r.Old == 0, Wait, $"the rollout to {revision} to complete");

    [Fact]
    public async Task RollingUpdate_OfThreeInstances_UnderSteadyLoad_FailsNoRequest_AndSwitchesToTheNewVersion()
    {
        var v1 = (await ApplyAsync("1.0.0")).Revision;
        await _plane.WaitUntilConvergedAsync(Wait);
        var oldPids = _plane.Status().Services.Single().Instances.Select(i => i.Pid).ToList();

        using var client = new VersionClient(Endpoint + "/");
        await Task.Delay(500);
        var v2 = await ApplyAsync("2.0.0");
        Assert.Contains("reviews", v2.Revision.Summary, StringComparison.Ordinal);
        await Complete(_plane.State.Find("reviews")!.Revision);
        await Task.Delay(500);
        var (versions, failures) = await client.StopAsync();

        Assert.True(failures.Count == 0, $"{failures.Count} failed of {versions.Count + failures.Count}: {string.Join("; ", failures.Distinct().Take(5))}");
        Assert.Equal("reviews 1.0.0", versions[0]);
        Assert.Equal("reviews 2.0.0", versions[^1]);
        Assert.DoesNotContain("reviews 1.0.0", versions.TakeLast(20));
        Assert.All(oldPids, pid => Assert.False(Flotilla.Runtime.Posix.IsRunning(pid, null), $"old instance {pid} still runs"));
        Assert.Contains(_plane.Events.Since(0), e => e.Message.StartsWith($"rollout to revision {_plane.State.Find("reviews")!.Revision} complete", StringComparison.Ordinal));
        Assert.Equal(v1.Number + 1, v2.Revision.Number);
    }

    [Fact]
    public async Task ARevisionThatNeverBecomesReady_IsRolledBackAtItsDeadline_WithTheReason_AndOldInstancesServeThroughout()
    {
        await ApplyAsync("1.0.0", deadline: "3s");
        await _plane.WaitUntilConvergedAsync(Wait);
        var good = _plane.State.Find("reviews")!.Revision;
        var oldPids = _plane.Status().Services.Single().Instances.Select(i => i.Pid).Order().ToList();

        using var client = new VersionClient(Endpoint + "/");
        var broken = await ApplyAsync("1.0.0", broken: true, deadline: "3s");
        Assert.NotEqual(good, _plane.State.Find("reviews")!.Revision);
        await Eventually.Until(() => _plane.Rollout("reviews").Last?.State == "rolled back", Wait, "the automatic rollback");
        await Complete(good);
        var (versions, failures) = await client.StopAsync();

        var rollout = _plane.Rollout("reviews");
        Assert.Equal(good, rollout.Revision);
        Assert.Equal(good, rollout.Last!.RolledBackTo);
        Assert.Contains("REVIEWS_BROKEN=1: /ready answers 503", rollout.Last.Reason, StringComparison.Ordinal);
        Assert.Contains("readiness probe /ready not passing", rollout.Last.Reason, StringComparison.Ordinal);
        Assert.Contains(_plane.Events.Since(0), e => e.Warning && e.Message.Contains("made no progress in 3s", StringComparison.Ordinal) && e.Message.Contains("rolled back", StringComparison.Ordinal));
        var latest = _plane.Store.LatestRevision()!;
        Assert.Equal(broken.Revision.Number + 1, latest.Number);
        Assert.Equal("flotilla (progress deadline)", latest.Actor);
        Assert.StartsWith("rollback reviews", latest.Summary, StringComparison.Ordinal);
        // The old instances never stopped serving, and nothing failed.
        Assert.Equal(oldPids, _plane.Status().Services.Single().Instances.Where(i => i.IsLive).Select(i => i.Pid).Order());
        Assert.True(failures.Count == 0, string.Join("; ", failures.Take(5)));
        Assert.All(versions, v => Assert.Equal("reviews 1.0.0", v));
    }

    [Fact]
    public async Task PauseHoldsARollout_ResumeFinishesIt_UndoRunsTheEarlierRevisionAgain()
    {
        await ApplyAsync("1.0.0");
        await _plane.WaitUntilConvergedAsync(Wait);
        var v1 = _plane.State.Find("reviews")!.Revision;

        await _plane.PauseRolloutAsync("reviews", "test");
        await ApplyAsync("2.0.0");
        var v2 = _plane.State.Find("reviews")!.Revision;
        // Held, not merely not yet begun: the controller planned against revision v2 and said it holds, then passed again.
        await Eventually.Until(() => _plane.Rollout("reviews").Waiting?.StartsWith($"rollout paused: 0 of 3 on revision {v2}", StringComparison.Ordinal) == true,
            Wait, "the controller to hold the paused rollout");
        var passes = _plane.ReconcilePasses;
        await Eventually.Until(() => _plane.ReconcilePasses >= passes + 2, Wait, "two more reconcile passes");
        var paused = _plane.Rollout("reviews");
        Assert.Equal(("paused", 3, 0), (paused.State, paused.Old, paused.Current));

        await _plane.ResumeRolloutAsync("reviews", "test");
        await Complete(v2);
        using (var http = new HttpClient())
        {
            Assert.Equal("reviews 2.0.0", (string?)JsonNode.Parse(await http.GetStringAsync(Endpoint + "/"))!["version"]);
        }

        var artifacts = Directory.GetDirectories(Path.Combine(_dir.Path, "data", "artifacts")).Length;
        var undo = await _plane.UndoRolloutAsync("reviews", null, "test");
        Assert.StartsWith("undo reviews", undo.Summary, StringComparison.Ordinal);
        Assert.Equal(v1, _plane.State.Find("reviews")!.Revision);
        await Complete(v1);
        using (var http = new HttpClient())
        {
            Assert.Equal("reviews 1.0.0", (string?)JsonNode.Parse(await http.GetStringAsync(Endpoint + "/"))!["version"]);
        }
        Assert.Equal(artifacts, Directory.GetDirectories(Path.Combine(_dir.Path, "data", "artifacts")).Length);
        Assert.Equal([undo.Number, undo.Number - 1, 1], _plane.RolloutHistory("reviews").Select(r => r.Number));

        var to = await _plane.UndoRolloutAsync("reviews", undo.Number - 1, "test");
        Assert.Equal(v2, _plane.State.Find("reviews")!.Revision);
        Assert.Contains($"as in revision {undo.Number - 1}", to.Summary, StringComparison.Ordinal);
        Assert.Equal(ControlPlaneError.NotFound, (await Assert.ThrowsAsync<ControlPlaneException>(() => _plane.UndoRolloutAsync("reviews", 999, "test"))).Kind);
        Assert.Equal(ControlPlaneError.Conflict, (await Assert.ThrowsAsync<ControlPlaneException>(() => _plane.UndoRolloutAsync("reviews", to.Number, "test"))).Kind);
    }
}
