using Flotilla.Runtime;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.EndToEnd;

/// <summary>
/// The router's own processes under load: a supervisor that holds the listening sockets and the
/// worker that serves on them. A worker killed -9 refuses no connection and never answers 503
/// for a service with ready instances; a reload replaces it without failing a request.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class RouterProcessTests
{
    private const int Concurrency = 8;
    private static readonly string Reviews = Path.Combine(Repository.Root, "examples", "shop", "services", "Reviews");

    private static readonly string Spec = $$"""
        name: router-process-test
        services:
          reviews:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: {{Reviews}}
            instances: 3
            http: { health: /healthz, ready: /ready }
        """;

    [Fact]
    public async Task KilledRouterWorker_UnderLoad_RefusesNoConnection_AnswersNo503_AndServesTheLastTableEvenWithoutAControlPlane()
    {
        using var harness = new ServerHarness();
        harness.WriteSpec(Spec);
        var server = await harness.StartServerAsync();
        Assert.Equal(0, (await harness.CliAsync("apply", "-f", harness.SpecDirectory, "--wait")).Code);
        var endpoint = (string)(await harness.JsonAsync("status"))["services"]!.AsArray().Single()!["endpoint"]!;
        var supervisor = harness.RouterPid!.Value;

        using var load = new LoadClient(endpoint + "/", Concurrency);
        await load.WaitForOkAsync(200, ServerHarness.Wait);
        var first = await KillWorkerAsync(harness, supervisor);

        // Now with no control plane at all: the next worker can only have its table from disk.
        Posix.Signal(server.Pid, Posix.SIGKILL);
        await server.WaitForExitAsync(ServerHarness.Wait);
        var second = await KillWorkerAsync(harness, supervisor);
        await load.WaitForOkAsync(200, ServerHarness.Wait);
        var (ok, failed, failures) = await load.StopAsync();

        var summary = $"{failed} of {ok + failed} failed: {string.Join("; ", failures.Distinct().Take(5))}";
        Assert.DoesNotContain(failures, f => f.Contains("refused", StringComparison.OrdinalIgnoreCase));
        Assert.DoesNotContain(failures, f => f.StartsWith("503", StringComparison.Ordinal));
        // Only requests in flight on a killed worker may fail: at most one per connection per kill.
        Assert.True(failed <= 2 * Concurrency, summary);
        Assert.NotEqual(first, second);
        Assert.True(Posix.IsRunning(supervisor, null), "the supervisor that holds the sockets is the same process throughout");
        var log = await File.ReadAllTextAsync(Path.Combine(harness.DataDirectory, "logs", "router.log"));
        Assert.Contains($"router worker {first} ended (killed by SIGKILL); starting another on the same sockets", log, StringComparison.Ordinal);
    }

    [Fact]
    public async Task ReloadedRouter_UnderLoad_FailsNoRequest_AndTheOldWorkerLeavesOnlyAfterItsRequests()
    {
        using var harness = new ServerHarness();
        harness.WriteSpec(Spec);
        await harness.StartServerAsync();
        Assert.Equal(0, (await harness.CliAsync("apply", "-f", harness.SpecDirectory, "--wait")).Code);
        var endpoint = (string)(await harness.JsonAsync("status"))["services"]!.AsArray().Single()!["endpoint"]!;
        var old = harness.RouterWorkerPid!.Value;

        using var load = new LoadClient(endpoint + "/", Concurrency);
        await load.WaitForOkAsync(200, ServerHarness.Wait);
        var (code, output) = await harness.CliAsync("reload-router");
        Assert.True(code == 0, output);
        var now = harness.RouterWorkerPid!.Value;
        Assert.Contains($"router worker {old} finished its requests; worker {now} serves", output, StringComparison.Ordinal);
        Assert.False(Posix.IsRunning(old, null), "the old worker is still running");
        await load.WaitForOkAsync(200, ServerHarness.Wait);
        var (ok, failed, failures) = await load.StopAsync();
        Assert.True(failed == 0, $"{failed} of {ok + failed} failed: {string.Join("; ", failures.Distinct().Take(5))}");

        // The new worker took the state over: the control plane still drives it.
        Assert.Equal(0, (await harness.CliAsync("scale", "reviews=1")).Code);
        await Eventually.Until(async () => (await harness.JsonAsync("status"))["services"]!.AsArray().Single()!["ready"]!.GetValue<int>() == 1,
            ServerHarness.Wait, "the scale-down through the new worker");
        Assert.Contains("router reload", (await harness.CliAsync("history", "--audit")).Output, StringComparison.Ordinal);
    }

    /// <summary>Kills the serving worker and waits for the next one under the same supervisor; returns the killed pid.</summary>
    private static async Task<int> KillWorkerAsync(ServerHarness harness, int supervisor)
    {
        var worker = harness.RouterWorkerPid ?? throw new InvalidOperationException("no router worker runs");
        Posix.Signal(worker, Posix.SIGKILL);
        await Eventually.Until(() => harness.RouterWorkerPid is { } next && next != worker, ServerHarness.Wait, $"a new worker under supervisor {supervisor}");
        return worker;
    }
}
