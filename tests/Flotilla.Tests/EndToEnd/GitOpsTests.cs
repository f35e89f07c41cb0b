using System.Text.Json.Nodes;
using Flotilla.Hosting;
using Flotilla.Store;
using Flotilla.Tests.Support;
using LibGit2Sharp;

namespace Flotilla.Tests.EndToEnd;

/// <summary>GitOps end to end: a real git repository made by the test, a real server following it.</summary>
[Collection(ProcessHeavy.Name)]
public sealed class GitOpsTests
{
    private static readonly string Reviews = Path.Combine(Support.Repository.Root, "examples", "shop", "services", "Reviews");

    private static string Spec(string instances) => $$"""
        name: gitops-test
        services:
          reviews:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: {{Reviews}}
            instances: {{instances}}
            http: { health: /healthz, ready: /ready }
        environments:
          prod: { env: { STAGE: prod } }
        """;

    private static string Commit(LibGit2Sharp.Repository repository, string directory, string yaml, string message)
    {
        File.WriteAllText(Path.Combine(directory, "flotilla.yaml"), yaml);
        Commands.Stage(repository, "flotilla.yaml");
        var author = new Signature("Ann Example", "ann@example.com", DateTimeOffset.UtcNow);
        return repository.Commit(message, author, author).Sha;
    }

    private static async Task<JsonNode> WaitForSyncAsync(ServerHarness harness, string sync, string what, Func<JsonNode, bool>? also = null)
    {
        JsonNode? last = null;
        await Eventually.Until(async () =>
        {
            var (code, output) = await harness.CliAsync("gitops", "status", "-o", "json");
            last = output.TrimStart().StartsWith('{') ? JsonNode.Parse(output) : null;
            return last is not null && (string?)last["sync"] == sync && (also?.Invoke(last) ?? true);
        }, ServerHarness.Wait, what);
        return last!;
    }

    private static async Task<int> ReviewsAsync(ServerHarness harness) =>
        (await harness.JsonAsync("ps")).AsArray().Count(i => (string?)i!["service"] == "reviews" && (string?)i["state"] != "Exited");

    [Fact]
    public async Task Commits_AreApplied_InvalidOnesRefused_DriftReportedThenHealed_AndAnUnreachableRepositoryChangesNothing()
    {
        using var harness = new ServerHarness();
        using var source = new TempDirectory("flotilla-git");
        LibGit2Sharp.Repository.Init(source.Path);
        using var repository = new LibGit2Sharp.Repository(source.Path);
        var first = Commit(repository, source.Path, Spec("1"), "one reviews instance");
        var branch = repository.Head.FriendlyName;
        await harness.StartServerAsync();

        var (code, output) = await harness.CliAsync("gitops", "add", $"file://{source.Path}", "--branch", branch, "--env", "prod", "--interval", "1s");
        Assert.True(code == 0, output);
        var status = await WaitForSyncAsync(harness, "Synced", "the first commit to be applied and converge", s => (string?)s["appliedCommit"] == first);
        Assert.Equal("Ann Example <ann@example.com>", (string?)status["headAuthor"]);
        var revision = (await harness.JsonAsync("history", "--env", "prod")).AsArray()[0]!;
        Assert.Equal((first, "gitops", "prod"), ((string?)revision["gitCommit"], (string?)revision["actor"], (string?)revision["environment"]));
        var audit = (await harness.JsonAsync("history", "--audit")).AsArray().First(a => (string?)a!["action"] == "apply")!;
        Assert.Contains($"from commit {first[..12]} by Ann Example <ann@example.com>: \"one reviews instance\"", (string?)audit["detail"], StringComparison.Ordinal);
        Assert.Equal(first, (string?)audit["gitCommit"]);

        // A new commit is applied within the interval.
        var second = Commit(repository, source.Path, Spec("2"), "two reviews instances");
        await WaitForSyncAsync(harness, "Synced", "the second commit", s => (string?)s["appliedCommit"] == second);
        Assert.Equal(2, await ReviewsAsync(harness));

        // An invalid commit is not applied: Failed with the spec's errors and the commit; the last good revision keeps running.
        var revisions = (await harness.JsonAsync("history")).AsArray().Count;
        var broken = Commit(repository, source.Path, Spec("-3"), "a typo");
        status = await WaitForSyncAsync(harness, "Failed", "the invalid commit to be refused");
        var error = string.Join("\n", status["errors"]!.AsArray().Select(e => (string?)e));
        Assert.Contains($"commit {broken[..12]}: flotilla.yaml:6:", error, StringComparison.Ordinal);
        Assert.Contains("services.reviews.instances", error, StringComparison.Ordinal);
        Assert.Equal(revisions, (await harness.JsonAsync("history")).AsArray().Count);
        Assert.Equal(2, await ReviewsAsync(harness));
        (code, output) = await harness.CliAsync("gitops", "status");
        Assert.True(code == 2 && output.Contains("Failed", StringComparison.Ordinal), output);
        var fixedCommit = Commit(repository, source.Path, Spec("2").Replace("STAGE: prod", "STAGE: production", StringComparison.Ordinal), "fix the typo");
        await WaitForSyncAsync(harness, "Synced", "the fixed commit", s => (string?)s["appliedCommit"] == fixedCommit);

        // Drift: an operator's scale is reported (selfHeal off), then reverted (selfHeal on).
        Assert.Equal(0, (await harness.CliAsync("scale", "reviews=3")).Code);
        status = await WaitForSyncAsync(harness, "OutOfSync", "the scale to show as drift");
        Assert.Contains(status["drift"]!.AsArray(), d => ((string?)d)!.Contains("reviews scaled to 3 (git says 2)", StringComparison.Ordinal));
        Assert.Contains(status["conditions"]!.AsArray(), c => (string?)c!["type"] == "scaleDrift" && (string?)c["reason"] == "ScaledByOperator");
        (code, output) = await harness.CliAsync("gitops", "add", source.Path, "--branch", branch, "--env", "prod", "--interval", "1s", "--self-heal");
        Assert.True(code == 0, output);
        await WaitForSyncAsync(harness, "Synced", "the drift to be healed", s => ((string?)s["message"])!.StartsWith("self-healed", StringComparison.Ordinal));
        await Eventually.Until(async () => await ReviewsAsync(harness) == 2, ServerHarness.Wait, "reviews back to 2 instances as git says");
        Assert.Contains((await harness.JsonAsync("history", "--audit")).AsArray(), a => (string?)a!["action"] == "self-heal");

        // The repository disappears: Failed with the reason, nothing changes, retried until it is back.
        var moved = source.Path + "-moved";
        Directory.Move(source.Path, moved);
        try
        {
            status = await WaitForSyncAsync(harness, "Failed", "the unreachable repository to be reported");
            Assert.Contains("cannot read", (string?)status["message"], StringComparison.Ordinal);
            Assert.Equal(2, await ReviewsAsync(harness));
        }
        finally
        {
            Directory.Move(moved, source.Path);
        }
        (code, output) = await harness.CliAsync("gitops", "sync");
        Assert.True(code == 0, output);
        await WaitForSyncAsync(harness, "Synced", "the repository to be read again");
    }

    [Fact]
    public async Task ARevisionNotFromGit_IsRevisionDrift_WhichSelfHealRevertsByApplyingTheCommitAgain()
    {
        using var dir = new TempDirectory("flotilla-gitops-drift");
        var repo = Path.Combine(dir.Path, "repo");
        LibGit2Sharp.Repository.Init(repo);
        using var repository = new LibGit2Sharp.Repository(repo);
        var commit = Commit(repository, repo, Spec("1"), "one reviews instance");
        var plane = await ControlPlane.StartAsync(new ControlPlaneOptions(Path.Combine(dir.Path, "data")));
        try
        {
            plane.FollowRepository(new GitOpsSource(repo, "flotilla.yaml", null, repository.Head.FriendlyName, TimeSpan.FromSeconds(1), true, "test", DateTimeOffset.UtcNow));
            await Eventually.Until(() => plane.GitOps is { Sync: "Synced", AppliedCommit: { } applied } && applied == commit, ServerHarness.Wait, "the commit to be applied");

            // An apply by hand: a revision git did not make.
            var byHand = Path.Combine(dir.Path, "flotilla.yaml");
            File.WriteAllText(byHand, Spec("2"));
            var drifted = await plane.ApplyAsync(new ApplyRequest(Spec("2"), byHand, null, null, "someone"));

            // The self-heal's event comes once its apply is done.
            await Eventually.Until(() => plane.Events.Since(0).Any(e => e.Message.StartsWith($"self-heal: revision {drifted.Revision.Number} by someone is not from git", StringComparison.Ordinal)),
                ServerHarness.Wait, "self-heal to apply the commit again");
            Assert.Equal(commit, plane.Store.LatestRevision()!.GitCommit);
            Assert.Equal(1, plane.State.Find("reviews")!.Instances);
            await Eventually.Until(() => plane.GitOps is { Sync: "Synced" }, ServerHarness.Wait, "synced again");
            Assert.Empty(plane.GitOps!.Conditions);
        }
        finally
        {
            await plane.StopDataPlaneAsync();
            await plane.DisposeAsync();
        }
        Assert.Empty(ProcessScan.Mentioning(dir.Path));
    }
}
