using System.Text.Json.Nodes;
using Flotilla.Hosting;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Functions;

/// <summary>A schedule for real: a control plane runs a Python function every second from zero; stopped for seconds and started again, it runs the missed ones once.</summary>
[Collection(ProcessHeavy.Name)]
public sealed class ScheduleEndToEndTests
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);

    private static List<JsonObject> Runs(string output) =>
        [.. QueueApp.Deliveries(output).Values.SelectMany(list => list).Where(d => d.End is not null).Select(d => JsonNode.Parse(d.Body)!.AsObject())];

    [Fact]
    public async Task EverySecond_RunsTheFunction_AndAfterAnOutage_RunsTheMissedOccurrencesOnce()
    {
        using var dir = new TempDirectory("flotilla-schedule");
        dir.Write("fn/app.py", QueueApp.Source);
        var output = QueueApp.Output(Path.Combine(dir.Path, "runs.txt"));
        var yaml = $$"""
            name: schedule-test
            functions:
              tick:
                command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
                files: {{Path.Combine(dir.Path, "fn")}}
                env: { OUT: "{{output}}" }
                trigger: { schedule: "* * * * * *" }
                timeout: 2s
                hold: { budget: 5s }
            """;
        var file = Path.Combine(dir.Path, "flotilla.yaml");
        File.WriteAllText(file, yaml);
        var options = new ControlPlaneOptions(Path.Combine(dir.Path, "data"));
        var plane = await ControlPlane.StartAsync(options);
        try
        {
            await plane.ApplyAsync(new ApplyRequest(yaml, file, null, null, "test"));
            await Eventually.Until(() => Runs(output).Count >= 3, Wait, "three scheduled runs");
            var runs = Runs(output);
            Assert.Equal(runs.Count, runs.Select(r => (string)r["scheduledAt"]!).Distinct().Count());
            Assert.All(runs, r => Assert.Equal("* * * * * *", (string)r["schedule"]!));
            var schedule = plane.Status().Services.Single().Schedule!;
            // The next occurrence after the last queued, and current: a run that holds the function past the next
            // second (a busy machine) delays the one after it, so "current" allows seconds.
            Assert.True(schedule.Next > schedule.LastRun, $"next {schedule.Next}, last run {schedule.LastRun}");
            Assert.True(schedule.Next > DateTimeOffset.UtcNow.AddSeconds(-10), $"next {schedule.Next}");
            Assert.NotNull(schedule.LastRun);
        }
        finally
        {
            await plane.DisposeAsync();
        }

        // Down for 4 s (the function's instance keeps running, as any), then back.
        var before = Runs(output).Count;
        var down = DateTimeOffset.UtcNow;
        await Task.Delay(TimeSpan.FromSeconds(4));
        var up = DateTimeOffset.UtcNow;
        plane = await ControlPlane.StartAsync(options);
        try
        {
            var first = plane.FirstEventOfThisStart;
            // Either run once standing for the missed ones, or skipped (Forbid) when a run was cut mid-delivery by the stop: never one per missed second.
            await Eventually.Until(() => plane.Events.Since(first - 1).Any(e => e.Subject == "tick" && e.Message.Contains("missed", StringComparison.Ordinal)), Wait, "the restart to account for the missed occurrences");
            var catchUp = plane.Events.Since(first - 1).First(e => e.Subject == "tick" && e.Message.Contains("missed", StringComparison.Ordinal));
            Assert.Matches(@"(\d+) earlier (occurrences were missed|missed occurrences)", catchUp.Message);
            await Eventually.Until(() => Runs(output).Count >= before + 3, Wait, "runs to go on after the restart");
            var after = Runs(output).Skip(before).ToList();
            Assert.Equal(after.Count, after.Select(r => (string)r["scheduledAt"]!).Distinct().Count());
            // At most one run stands for the outage: no run is for a second in which the control plane was down, but the one
            // that says so. (A later run may say it missed a second too: on a loaded machine a second can pass while the
            // previous run still holds the function, and that is not the outage.)
            var forTheOutage = after.Where(r => DateTimeOffset.Parse((string)r["scheduledAt"]!, System.Globalization.CultureInfo.InvariantCulture) is var at && at >= down && at < up).ToList();
            Assert.True(forTheOutage.Count <= 1 && forTheOutage.All(r => (int)r["missed"]! > 0), $"down {down:O}, up {up:O}: {string.Join("; ", after.Select(r => r.ToJsonString()))}");
        }
        finally
        {
            await plane.StopDataPlaneAsync();
            await plane.DisposeAsync();
        }
        Assert.Empty(ProcessScan.Mentioning(dir.Path));
    }
}
