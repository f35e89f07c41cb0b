using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Flotilla.Api;
using Flotilla.Cli.Client;
using Flotilla.Cli.Output;
using Flotilla.Conditions;
using Flotilla.Controllers.Rollouts;
using Flotilla.Hosting;
using Spectre.Console;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla rollout status|pause|resume|promote|abort|retry|undo|history SERVICE</c>: watch and steer a service's move between revisions.</summary>
internal static class RolloutCommand
{
    public static Command Create()
    {
        var command = new Command("rollout", "Watch and steer a service's rollout: status, pause, resume, undo, history");
        var service = new Argument<string>("service");
        var noWait = new Option<bool>("--no-wait") { Description = "Print the state once instead of following it to the end" };
        command.Subcommands.Add(ApiCommand.Create("status", "Follow a rollout until it completes (exit 0) or is rolled back (exit 1)", async (parse, client, json, ct) =>
        {
            var path = $"v1/services/{Uri.EscapeDataString(parse.GetValue(service)!)}/rollout";
            var status = await client.GetAsync<RolloutStatus>(path, ct);
            var watched = status.Revision;
            if (json || parse.GetValue(noWait) || Console.IsOutputRedirected)
            {
                return await FollowPlainAsync(client, path, status, watched, json, !parse.GetValue(noWait), ct);
            }
            var outcome = 0;
            if (status.Release is not null)
            {
                await AnsiConsole.Live(ReleaseView.Render(status, status.Release)).StartAsync(async live =>
                {
                    while (!ct.IsCancellationRequested && !Ended(status, watched, out outcome))
                    {
                        await Task.Delay(500, ct);
                        status = await client.GetAsync<RolloutStatus>(path, ct);
                        live.UpdateTarget(status.Release is { } release ? ReleaseView.Render(status, release) : new Markup(Markup.Escape(Describe(status))));
                    }
                });
                Console.WriteLine(Summary(status));
                return outcome;
            }
            await AnsiConsole.Progress().Columns(new TaskDescriptionColumn(), new ProgressBarColumn(), new PercentageColumn(), new SpinnerColumn())
                .StartAsync(async progress =>
                {
                    var bar = progress.AddTask(Describe(status), maxValue: Math.Max(status.Desired, 1));
                    while (!ct.IsCancellationRequested)
                    {
                        bar.Description = Markup.Escape(Describe(status));
                        bar.Value = status.CurrentReady;
                        if (Ended(status, watched, out outcome))
                        {
                            bar.StopTask();
                            return;
                        }
                        await Task.Delay(250, ct);
                        status = await client.GetAsync<RolloutStatus>(path, ct);
                    }
                });
            Console.WriteLine(Summary(status));
            return outcome;
        }, service, noWait));

        foreach (var (verb, description) in new[] { ("pause", "Hold a rollout where it is (the deadline does not run while paused)"), ("resume", "Let a paused rollout go on") })
        {
            command.Subcommands.Add(ApiCommand.Create(verb, description, async (parse, client, _, ct) =>
            {
                await client.PostAsync($"v1/services/{Uri.EscapeDataString(parse.GetValue(service)!)}/rollout/{verb}", null, ct);
                Console.WriteLine($"{parse.GetValue(service)} rollout {(verb == "pause" ? "paused" : "resumed")}");
                return 0;
            }, service));
        }

        var full = new Option<bool>("--full") { Description = "Canary: all traffic to the new revision now, skipping the remaining steps and analyses" };
        command.Subcommands.Add(Steer("promote", "Canary: go to the next step (--full: to the end); blue-green: switch now", service, full));
        command.Subcommands.Add(Steer("abort", "All traffic back to the stable revision and the new one scaled down", service, null));
        command.Subcommands.Add(Steer("retry", "Start an aborted canary or blue-green release again from its first step", service, null));

        var toRevision = new Option<long?>("--to-revision") { Description = "The system revision whose version of the service to run again (default: the one before the current)" };
        command.Subcommands.Add(ApiCommand.Create("undo", "Run an earlier revision of the service again, without rebuilding", async (parse, client, json, ct) =>
        {
            var answer = await client.PostAsync($"v1/services/{Uri.EscapeDataString(parse.GetValue(service)!)}/rollout/undo", new UndoBody(parse.GetValue(toRevision)), ct);
            var result = JsonSerializer.Deserialize<ApplyResponse>(answer, ApiJson.Options)!;
            Console.WriteLine(json ? answer : $"revision {result.Revision}: {result.Summary}");
            return 0;
        }, service, toRevision));

        command.Subcommands.Add(ApiCommand.Create("history", "The revisions in which this service changed, newest first", async (parse, client, json, ct) =>
        {
            var path = $"v1/services/{Uri.EscapeDataString(parse.GetValue(service)!)}/rollout/history";
            if (json)
            {
                Console.WriteLine(await client.GetRawAsync(path, ct));
                return 0;
            }
            var table = Tables.Create("system revision", "when", "who", "service revision", "what changed");
            foreach (var r in await client.GetAsync<List<ServiceRevision>>(path, ct))
            {
                table.AddRow(Tables.Cells(r.Number.ToString(CultureInfo.InvariantCulture), Tables.When(r.At), r.Actor, r.Revision, r.Summary));
            }
            AnsiConsole.Write(table);
            return 0;
        }, service));
        return command;
    }

    /// <summary>promote, abort, retry: a recorded intent; prints where the release stands after it.</summary>
    private static Command Steer(string verb, string description, Argument<string> service, Option<bool>? full)
    {
        var options = full is null ? new Symbol[] { service } : [service, full];
        return ApiCommand.Create(verb, description, async (parse, client, json, ct) =>
        {
            var query = full is not null && parse.GetValue(full) ? "?full=true" : "";
            var answer = await client.PostAsync($"v1/services/{Uri.EscapeDataString(parse.GetValue(service)!)}/rollout/{verb}{query}", null, ct);
            var state = JsonSerializer.Deserialize<ReleaseState>(answer, ApiJson.Options)!;
            Console.WriteLine(json ? answer : $"{state.Service}: release of revision {state.Target} {state.Phase.ToString().ToLowerInvariant()}, {state.Weight}% of traffic on it{(state.Reason is null ? "" : $" ({state.Reason})")}");
            return 0;
        }, options);
    }

    private static async Task<int> FollowPlainAsync(ApiClient client, string path, RolloutStatus status, string watched, bool json, bool follow, CancellationToken ct)
    {
        var last = "";
        while (true)
        {
            var line = json ? JsonSerializer.Serialize(status, ApiJson.Options) : Describe(status);
            if (line != last)
            {
                Console.WriteLine(line);
                last = line;
            }
            if (Ended(status, watched, out var outcome) || !follow)
            {
                if (!json && follow)
                {
                    Console.WriteLine(Summary(status));
                }
                return follow ? outcome : 0;
            }
            await Task.Delay(250, ct);
            status = await client.GetAsync<RolloutStatus>(path, ct);
        }
    }

    /// <summary>Rolled back away from the revision being watched (1), complete (0), or still going (false).</summary>
    private static bool Ended(RolloutStatus status, string watched, out int outcome)
    {
        if (status.Revision != watched && status.Last is { State: "rolled back" } last && last.Revision == watched)
        {
            outcome = 1;
            return true;
        }
        if (Degraded(status))
        {
            outcome = 1;
            return true;
        }
        outcome = 0;
        return status.State is "complete" or "stopped";
    }

    private static string Describe(RolloutStatus s) => s.Release is { Phase: not ReleasePhase.Complete } release
        ? $"{s.Service}: {ReleaseView.Line(release)}{(release.Reason is null ? "" : $" ({release.Reason})")}"
        : $"{s.Service} → {s.Revision}: {s.CurrentReady}/{s.Desired} new ready, {s.Current} new, {s.Old} old, {s.State}{(s.Waiting is null ? "" : $" ({s.Waiting})")}";

    private static bool Degraded(RolloutStatus s) => s.Conditions.Any(c => c.Type == ConditionType.Degraded);

    private static string Summary(RolloutStatus s) => Degraded(s) ? $"{s.Service}: degraded: {s.Release?.Reason}; traffic on the stable revision {s.Release?.Stable}"
        : s.Last is { State: "rolled back" } last && last.RolledBackTo == s.Revision && s.State != "progressing"
        ? $"rolled back: revision {last.Revision} never became ready ({last.Reason}); {s.Service} runs {s.Revision} again"
        : $"{s.Service}: {s.State} at revision {s.Revision} ({s.CurrentReady}/{s.Desired} ready)";
}
