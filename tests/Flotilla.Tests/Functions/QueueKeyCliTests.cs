using Flotilla.Tests.Support;

namespace Flotilla.Tests.Functions;

/// <summary>
/// <c>flotilla queue push QUEUE TEXT --key K</c> with the real CLI against a real server: the key
/// (spaces and a slash in it, so it must survive the query string) orders its messages, one at a
/// time, while another key's run beside them (made to: one key's first delivery waits for the other's to start).
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class QueueKeyCliTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    [Fact]
    public async Task QueuePushWithAKey_FromTheCli_DeliversThatKeysMessagesOneAtATime_InOrder()
    {
        using var harness = new ServerHarness();
        var output = QueueApp.Output(Path.Combine(harness.SpecDirectory, "deliveries.txt"));   // writable by the function's own user
        Directory.CreateDirectory(Path.Combine(harness.SpecDirectory, "fn"));
        File.WriteAllText(Path.Combine(harness.SpecDirectory, "fn", "app.py"), QueueApp.Source);
        harness.WriteSpec($$"""
            name: queue-key-cli
            functions:
              worker:
                command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
                files: {{Path.Combine(harness.SpecDirectory, "fn")}}
                env: { OUT: "{{output}}", SLEEP_MS: "200", AWAIT_BODY: "order 1/a:0", AWAIT_PREFIX: "order-2:", AWAIT_SECONDS: "45" }
                trigger: { queue: jobs }
                scale: { min: 0, max: 2, concurrency: 4, idle: 5s }
                timeout: 60s
            """);
        await harness.StartServerAsync();
        Assert.Equal(0, (await harness.CliAsync("apply", "-f", harness.SpecDirectory)).Code);
        var pushed = new List<(string Key, long Id)>();
        for (var i = 0; i < 4; i++)
        {
            foreach (var key in new[] { "order 1/a", "order-2" })
            {
                pushed.Add((key, (long)(await harness.JsonAsync("queue", "push", "jobs", $"{key}:{i}", "--key", key))["id"]!));
            }
        }
        var plain = await harness.CliAsync("queue", "push", "jobs", "no key", "--key", "order-3");
        Assert.Equal(0, plain.Code);
        Assert.Matches(@"queued message \d+ on jobs", plain.Output);

        await Eventually.Until(() => pushed.All(p => QueueApp.Deliveries(output).GetValueOrDefault(p.Id)?.Any(d => d.End is not null) == true), Wait, "every keyed message delivered");
        var deliveries = QueueApp.Deliveries(output);
        foreach (var group in pushed.GroupBy(p => p.Key))
        {
            var runs = group.SelectMany(p => deliveries[p.Id].Select(d => (p.Id, d.Start, d.End, d.Body))).OrderBy(r => r.Start).ToList();
            Assert.Equal(group.Select(p => p.Id), runs.Select(r => r.Id));
            Assert.Equal(Enumerable.Range(0, 4).Select(i => $"{group.Key}:{i}"), runs.Select(r => r.Body));
            for (var i = 1; i < runs.Count; i++)
            {
                Assert.True(runs[i - 1].End <= runs[i].Start, $"{group.Key}: message {runs[i].Id} started before {runs[i - 1].Id} ended");
            }
        }
        // The two keys ran side by side: the order above is each key's, not the queue's taken one by one. The first
        // message of one key waits (45 s at most, under the 60 s timeout) for a delivery of the other key to start:
        // a product that serialized keys would make it give up; one that does not cannot fail it by scheduling luck.
        Assert.True(QueueApp.Awaited(output) == "met", $"'order 1/a:0' waited 45 s for a delivery of 'order-2' to start beside it: {QueueApp.Awaited(output)}\n{File.ReadAllText(output)}");
        var first = deliveries[pushed[0].Id].Single();
        Assert.Contains(pushed.Where(p => p.Key == "order-2").SelectMany(p => deliveries[p.Id]), d => d.Start <= first.End && first.Start <= d.End);
        Assert.Equal(0, (await harness.CliAsync("shutdown", "--stop-all")).Code);
    }
}
