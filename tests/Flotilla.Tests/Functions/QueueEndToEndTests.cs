using Flotilla.Controllers.Queues;
using Flotilla.Hosting;
using Flotilla.Runtime;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Functions;

/// <summary>Queue triggers for real: a control plane delivering to a Python function from zero; and a server killed (-9) mid-delivery.</summary>
[Collection(ProcessHeavy.Name)]
public sealed class QueueEndToEndTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    private static string Spec(string directory, string output, int sleepMs, string extra = "", string env = "") => $$"""
        name: queue-test
        functions:
          worker:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: {{directory}}
            env: { OUT: "{{output}}", SLEEP_MS: "{{sleepMs}}"{{env}} }
            trigger: { queue: jobs }
            scale: { min: 0, max: 2, concurrency: 4, idle: 2s }
            {{extra}}
        """;

    [Fact]
    public async Task Messages_AreDeliveredFromZero_FailuresRetriedWithBackoff_ThenDead_AndRetriedOnDemand()
    {
        using var dir = new TempDirectory("flotilla-queue");
        dir.Write("fn/app.py", QueueApp.Source);
        var output = QueueApp.Output(Path.Combine(dir.Path, "deliveries.txt"));
        await using var plane = await ControlPlane.StartAsync(new ControlPlaneOptions(Path.Combine(dir.Path, "data")));
        try
        {
            var yaml = Spec(Path.Combine(dir.Path, "fn"), output, 50, "retry: { attempts: 3, backoff: 200ms }\n    timeout: 5s");
            var file = Path.Combine(dir.Path, "flotilla.yaml");
            File.WriteAllText(file, yaml);
            await plane.ApplyAsync(new ApplyRequest(yaml, file, null, null, "test"));
            Assert.Throws<UnknownQueueException>(() => plane.Queues.Push("nope", [1], null));

            var ids = Enumerable.Range(0, 20).Select(i => plane.Queues.Push("jobs", System.Text.Encoding.UTF8.GetBytes($"job-{i}"), "text/plain")).ToList();
            var failing = plane.Queues.Push("jobs", "fail-1"u8.ToArray(), "text/plain");
            await Eventually.Until(() => plane.Store.DeadMessages("jobs", 10).Count == 1 && ids.All(QueueApp.Deliveries(output).ContainsKey), Wait, "every message delivered and the failing one dead");
            var deliveries = QueueApp.Deliveries(output);
            Assert.All(ids, id => Assert.Equal($"job-{ids.IndexOf(id)}", deliveries[id].Single().Body));
            Assert.Equal(3, deliveries[failing].Count);
            // Back-off: 200 ms, then 400 ms between the starts of the attempts.
            var starts = deliveries[failing].Select(d => d.Start).ToList();
            Assert.True(starts[1] - starts[0] >= 150 && starts[2] - starts[1] >= 350, $"attempts started at {string.Join(", ", starts)}");
            var dead = Assert.Single(plane.Store.DeadMessages("jobs", 10));
            Assert.Contains("attempt 3: answered 500", dead.LastError, StringComparison.Ordinal);
            Assert.Contains(plane.Events.Since(0), e => e.Subject == "worker" && e.Message.Contains($"message {failing} is dead after 3 attempts", StringComparison.Ordinal));

            Assert.Equal(1, plane.Store.RetryDead("jobs", failing, DateTimeOffset.UtcNow));
            plane.Queues.Wake();
            await Eventually.Until(() => QueueApp.Deliveries(output)[failing].Count == 6, Wait, "the retried message to be tried 3 more times");
            // Idle again: the function is back at zero.
            await Eventually.Until(() => !plane.Status().Services.Single().Instances.Any(i => i.IsLive), Wait, "the worker to scale to zero");
        }
        finally
        {
            await plane.StopDataPlaneAsync();
        }
        Assert.Empty(ProcessScan.Mentioning(dir.Path));
    }

    [Fact]
    public async Task AServerKilledMidDelivery_LosesNoMessage_AndNeverDeliversOneTwiceAtOnce()
    {
        using var harness = new ServerHarness();
        var output = QueueApp.Output(Path.Combine(harness.SpecDirectory, "deliveries.txt"));
        Directory.CreateDirectory(Path.Combine(harness.SpecDirectory, "fn"));
        File.WriteAllText(Path.Combine(harness.SpecDirectory, "fn", "app.py"), QueueApp.Source);
        // The "long" deliveries run until the test releases them (25 s at most, under the 30 s timeout), so the
        // deliveries cut off from the killed server still run when the next one adopts their instance (which must
        // not stop it before the timeout, though the router counts it idle: fixed-length deliveries made that a race
        // that CI lost once). 8 of them fill both instances (max 2 × concurrency 4), so 4 quick ones pushed then wait
        // in the queue through the kill: the next server must deliver both kinds. A lease lasts hold budget +
        // timeout + 10 s = 42 s.
        var release = Path.Combine(harness.SpecDirectory, "release");
        var env = $", RELEASE_FILE: \"{release}\", RELEASE_SECONDS: \"25\"";
        harness.WriteSpec(Spec(Path.Combine(harness.SpecDirectory, "fn"), output, 0, "timeout: 30s\n    hold: { budget: 2s }", env));
        var first = await harness.StartServerAsync();
        try
        {
            await KillMidDeliveryAndCheckAsync(harness, first, output, release);
        }
        catch (Exception e) when (e is not OperationCanceledException)
        {
            // Which process served what, and what each server did (its events are in its output): enough to tell a
            // product's stop of a serving instance from a test's wrong idea.
            var events = await harness.CliAsync("events");
            throw new Xunit.Sdk.XunitException($"{e.Message}\n{e.StackTrace}\n--- deliveries:\n{File.ReadAllText(output)}\n{harness.Transcript()}\n--- events:\n{events.Output}");
        }
    }

    private static async Task KillMidDeliveryAndCheckAsync(ServerHarness harness, CliProcess first, string output, string release)
    {
        Assert.Equal(0, (await harness.CliAsync("apply", "-f", harness.SpecDirectory)).Code);
        var ids = new List<long>();
        for (var i = 0; i < 8; i++)
        {
            ids.Add((long)(await harness.JsonAsync("queue", "push", "jobs", $"long-{i}"))["id"]!);
        }
        // Mid-delivery: all 8 in the function's hands, none answered (none ends before the release).
        await Eventually.Until(() => QueueApp.Deliveries(output).Count(m => m.Value.Any(d => d.End is null)) == 8, Wait, "8 deliveries to run at once");
        var quick = new List<long>();
        for (var i = 0; i < 4; i++)
        {
            quick.Add((long)(await harness.JsonAsync("queue", "push", "jobs", $"quick-{i}"))["id"]!);
        }
        ids.AddRange(quick);
        Assert.Equal("4", (await harness.JsonAsync("queue", "ls"))[0]!["waiting"]!.ToString());
        Posix.Signal(first.Pid, Posix.SIGKILL);
        await first.WaitForExitAsync(ServerHarness.Wait);
        var killed = DateTimeOffset.UtcNow.ToUnixTimeMilliseconds();

        await harness.StartServerAsync();
        await Eventually.Until(() => quick.All(id => QueueApp.Deliveries(output).GetValueOrDefault(id)?.Any(d => d.End is not null) == true), Wait, "the waiting messages to be delivered by the next server");
        File.WriteAllText(release, "");
        await Eventually.Until(() => ids.All(id => QueueApp.Deliveries(output).GetValueOrDefault(id)?.Any(d => d.End is not null) == true), Wait, "every message to be delivered after the restart");
        await Eventually.Until(async () => (string)(await harness.JsonAsync("queue", "ls"))[0]!["waiting"]!.ToString() == "0"
            && (await harness.JsonAsync("queue", "ls"))[0]!["inDelivery"]!.ToString() == "0", Wait, "the queue to empty");

        var deliveries = QueueApp.Deliveries(output);
        Assert.Equal(ids.Order(), deliveries.Keys.Order());
        // The quick ones were still waiting at the kill: the next server delivered them.
        Assert.All(quick, id => Assert.True(deliveries[id].Min(d => d.Start) >= killed, $"message {id} was delivered before the kill: {string.Join("; ", deliveries[id])}"));
        foreach (var (id, list) in deliveries)
        {
            var sorted = list.OrderBy(d => d.Start).ToList();
            for (var i = 1; i < sorted.Count; i++)
            {
                Assert.True(sorted[i - 1].End is { } end && end <= sorted[i].Start, $"message {id} was delivered twice at once: {string.Join("; ", sorted)}");
            }
        }
        Assert.Contains("jobs", (await harness.CliAsync("queue", "ls")).Output, StringComparison.Ordinal);
        Assert.Equal(0, (await harness.CliAsync("shutdown", "--stop-all")).Code);
    }

    [Fact]
    public async Task MessagesWithAKey_AreDeliveredOneAtATime_InOrder_WhileKeysRunInParallel()
    {
        using var dir = new TempDirectory("flotilla-queue-keys");
        dir.Write("fn/app.py", QueueApp.Source);
        var output = QueueApp.Output(Path.Combine(dir.Path, "deliveries.txt"));
        await using var plane = await ControlPlane.StartAsync(new ControlPlaneOptions(Path.Combine(dir.Path, "data")));
        try
        {
            // order-1's first message waits for an order-2 delivery to start beside it (45 s at most, under the timeout).
            var yaml = Spec(Path.Combine(dir.Path, "fn"), output, 150, "timeout: 60s", ", AWAIT_BODY: \"order-1:0\", AWAIT_PREFIX: \"order-2:\", AWAIT_SECONDS: \"45\"");
            var file = Path.Combine(dir.Path, "flotilla.yaml");
            File.WriteAllText(file, yaml);
            await plane.ApplyAsync(new ApplyRequest(yaml, file, null, null, "test"));
            var pushed = new List<(string Key, long Id)>();
            for (var i = 0; i < 6; i++)
            {
                foreach (var key in new[] { "order-1", "order-2", "order-3" })
                {
                    pushed.Add((key, plane.Queues.Push("jobs", System.Text.Encoding.UTF8.GetBytes($"{key}:{i}"), "text/plain", key)));
                }
            }
            await Eventually.Until(() => pushed.All(p => QueueApp.Deliveries(output).GetValueOrDefault(p.Id)?.Any(d => d.End is not null) == true), Wait, "every keyed message delivered");

            var deliveries = QueueApp.Deliveries(output);
            foreach (var group in pushed.GroupBy(p => p.Key))
            {
                var runs = group.SelectMany(p => deliveries[p.Id].Select(d => (p.Id, d.Start, d.End))).OrderBy(r => r.Start).ToList();
                Assert.Equal(group.Select(p => p.Id), runs.Select(r => r.Id));
                for (var i = 1; i < runs.Count; i++)
                {
                    Assert.True(runs[i - 1].End <= runs[i].Start, $"{group.Key}: message {runs[i].Id} started before {runs[i - 1].Id} ended");
                }
            }
            // The keys did run side by side (so the order above is the keys', not a queue delivered one by one): made
            // to, so a product that serialized keys fails it ("gave-up") and scheduling luck cannot.
            Assert.True(QueueApp.Awaited(output) == "met", $"'order-1:0' waited 45 s for an 'order-2' delivery to start beside it: {QueueApp.Awaited(output)}\n{File.ReadAllText(output)}");
            var first = deliveries[pushed[0].Id].Single();
            Assert.Contains(pushed.Where(p => p.Key == "order-2").SelectMany(p => deliveries[p.Id]), d => d.Start <= first.End && first.Start <= d.End);
        }
        finally
        {
            await plane.StopDataPlaneAsync();
        }
        Assert.Empty(ProcessScan.Mentioning(dir.Path));
    }
}
