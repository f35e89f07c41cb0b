using System.Text;
using Flotilla.Controllers.Inboxes;
using Flotilla.Runtime;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Functions;

/// <summary>A file trigger for real: files dropped in a directory (one still being written), a server killed (-9) mid-delivery, every file handled once it is back.</summary>
[Collection(ProcessHeavy.Name)]
public sealed class InboxEndToEndTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(120);

    [Fact]
    public async Task DroppedFiles_AreEachHandled_NoneLost_WhenTheServerIsKilledMidDelivery_NorTakenHalfWritten()
    {
        using var harness = new ServerHarness();
        var output = QueueApp.Output(Path.Combine(harness.SpecDirectory, "deliveries.txt"));
        var inbox = Path.Combine(harness.SpecDirectory, "inbox");
        Directory.CreateDirectory(Path.Combine(harness.SpecDirectory, "fn"));
        Directory.CreateDirectory(inbox);
        File.WriteAllText(Path.Combine(harness.SpecDirectory, "fn", "app.py"), QueueApp.Source);
        // Each delivery takes 1.5 s; a lease lasts hold budget + timeout + 10 s = 16 s.
        harness.WriteSpec($$"""
            name: inbox-test
            functions:
              ingest:
                command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
                files: fn
                env: { OUT: "{{output}}", SLEEP_MS: "1500" }
                trigger: { files: inbox }
                scale: { max: 1, concurrency: 2 }
                timeout: 4s
                hold: { budget: 2s }
                retry: { attempts: 2, backoff: 200ms }
            """);
        var first = await harness.StartServerAsync();
        Assert.Equal(0, (await harness.CliAsync("apply", "-f", harness.SpecDirectory)).Code);

        // The safe way: written under a temporary name, renamed in.
        for (var i = 0; i < 6; i++)
        {
            File.WriteAllText(Path.Combine(inbox, $"job-{i}.txt.tmp"), $"job-{i}");
            File.Move(Path.Combine(inbox, $"job-{i}.txt.tmp"), Path.Combine(inbox, $"job-{i}.txt"));
        }
        File.WriteAllText(Path.Combine(inbox, "poison.txt"), "fail-poison");
        // The unsafe way: written in place, slowly; it must not be taken before it is whole.
        var whole = string.Concat(Enumerable.Range(0, 8).Select(i => $"part{i}-"));
        var writer = Task.Run(async () =>
        {
            await using var stream = new FileStream(Path.Combine(inbox, "slow.txt"), FileMode.CreateNew, FileAccess.Write, FileShare.Read);
            for (var i = 0; i < 8; i++)
            {
                await stream.WriteAsync(Encoding.UTF8.GetBytes($"part{i}-"));
                await stream.FlushAsync();
                await Task.Delay(300);
            }
        });

        // Mid-delivery: a file is in the function's hands, not yet answered.
        await Eventually.Until(() => QueueApp.Deliveries(output).Values.Any(list => list.Any(d => d.End is null)), Wait, "a delivery to start");
        Posix.Signal(first.Pid, Posix.SIGKILL);
        await first.WaitForExitAsync(ServerHarness.Wait);
        await writer;

        await harness.StartServerAsync();
        string[] Processed() => Directory.Exists(InboxPaths.Processed(inbox)) ? [.. Directory.GetFiles(InboxPaths.Processed(inbox)).Select(InboxPaths.OriginalName).Order(StringComparer.Ordinal)] : [];
        string[] Failed() => Directory.Exists(InboxPaths.Failed(inbox)) ? [.. Directory.GetFiles(InboxPaths.Failed(inbox)).Select(InboxPaths.OriginalName).Order(StringComparer.Ordinal)] : [];
        string[] expected = [.. Enumerable.Range(0, 6).Select(i => $"job-{i}.txt").Append("slow.txt").Order(StringComparer.Ordinal)];
        await Eventually.Until(() => Processed().SequenceEqual(expected) && Failed().Length == 2, Wait,
            $"every file in processed/ and the poison one in failed/ (processed: {string.Join(", ", Processed())}; failed: {string.Join(", ", Failed())})");

        Assert.Equal(["poison.txt", "poison.txt.reason"], Failed());
        Assert.Contains("answered 500", File.ReadAllText(Directory.GetFiles(InboxPaths.Failed(inbox), "*.reason").Single()), StringComparison.Ordinal);
        Assert.Empty(Directory.GetFiles(inbox));
        Assert.Empty(Directory.GetFiles(InboxPaths.Claimed(inbox)));
        var slow = Directory.GetFiles(InboxPaths.Processed(inbox)).Single(f => f.EndsWith("-slow.txt", StringComparison.Ordinal));
        Assert.Equal(whole, File.ReadAllText(slow));

        var deliveries = QueueApp.Deliveries(output);
        // The half-written file was never delivered in part.
        Assert.All(deliveries.Values.SelectMany(list => list).Where(d => d.Body.StartsWith("part", StringComparison.Ordinal)), d => Assert.Equal(whole, d.Body));
        // Each file delivered (at least once), and no delivery of one file overlapping another of the same file.
        foreach (var body in Enumerable.Range(0, 6).Select(i => $"job-{i}").Append(whole))
        {
            var runs = deliveries.Values.SelectMany(list => list).Where(d => d.Body == body).OrderBy(d => d.Start).ToList();
            Assert.NotEmpty(runs);
            for (var i = 1; i < runs.Count; i++)
            {
                Assert.True(runs[i - 1].End is { } end && end <= runs[i].Start, $"{body} was delivered twice at once: {string.Join("; ", runs)}");
            }
        }
        Assert.Equal(0, (await harness.CliAsync("shutdown", "--stop-all")).Code);
    }
}
