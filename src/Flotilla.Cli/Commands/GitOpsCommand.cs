using System.CommandLine;
using System.Text.Json;
using Flotilla.Api;
using Flotilla.Cli.Output;
using Flotilla.Controllers.GitOps;
using Flotilla.Hosting;
using Spectre.Console;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla gitops add|status|sync|remove</c>: the server follows a git branch and applies each new commit.</summary>
internal static class GitOpsCommand
{
    public static Command Create()
    {
        var command = new Command("gitops", "Follow a git repository: every new commit of a branch is applied as a revision (add, status, sync, remove)");
        var repo = new Argument<string>("repo") { Description = "A URL, or a path on the server's machine (a local path or file:// works)" };
        var path = new Option<string>("--path") { Description = "The spec's path inside the repository", DefaultValueFactory = _ => "flotilla.yaml" };
        var branch = new Option<string>("--branch") { Description = "The branch to follow", DefaultValueFactory = _ => "main" };
        var interval = new Option<string>("--interval") { Description = "How often to look for a new commit", DefaultValueFactory = _ => "30s" };
        var selfHeal = new Option<bool>("--self-heal") { Description = "Revert drift (a scale, a stop, a flag changed at runtime, a revision not from git) to what git says" };
        command.Subcommands.Add(ApiCommand.Create("add", "Follow a repository's branch (replaces the one followed before)", async (parse, client, json, ct) =>
        {
            var location = parse.GetValue(repo)!;
            // A local path is sent absolute: the server resolves it, not this shell.
            if (!location.Contains("://", StringComparison.Ordinal) && Directory.Exists(location))
            {
                location = Path.GetFullPath(location);
            }
            var answer = await client.PostAsync("v1/gitops", new GitOpsBody(location, parse.GetValue(path), parse.GetValue(ApiCommand.Environment), parse.GetValue(branch), parse.GetValue(interval), parse.GetValue(selfHeal)), ct);
            var status = JsonSerializer.Deserialize<GitOpsStatus>(answer, ApiJson.Options)!;
            Console.WriteLine(json ? answer : $"following {status.Repo} ({status.Branch}, {status.Path}{(status.Environment is null ? "" : $", environment {status.Environment}")}) every {status.Interval.TotalSeconds:0}s, selfHeal {(status.SelfHeal ? "on" : "off")}");
            return 0;
        }, repo, path, branch, interval, selfHeal));

        command.Subcommands.Add(ApiCommand.Create("status", "Synced, OutOfSync (with the drift), Progressing or Failed (with the reason); exit 0 Synced, 2 otherwise", async (parse, client, json, ct) =>
        {
            var status = await client.GetAsync<GitOpsStatus>("v1/gitops", ct);
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(status, ApiJson.Options));
                return status.Sync == "Synced" ? 0 : 2;
            }
            var color = status.Sync switch { "Synced" => "green", "Progressing" => "yellow", _ => "red" };
            AnsiConsole.MarkupLineInterpolated($"[{color}]{status.Sync}[/]: {status.Message}");
            Console.WriteLine($"  repository {status.Repo} ({status.Branch}, {status.Path}{(status.Environment is null ? "" : $", environment {status.Environment}")}), every {status.Interval.TotalSeconds:0}s, selfHeal {(status.SelfHeal ? "on" : "off")}");
            if (status.Head is { } head)
            {
                Console.WriteLine($"  branch tip {head[..Math.Min(12, head.Length)]} by {status.HeadAuthor}: {status.HeadMessage}");
            }
            Console.WriteLine($"  applied {(status.AppliedCommit is { } applied ? applied[..Math.Min(12, applied.Length)] : "nothing yet")}; last check {(status.LastCheck is { } at ? Tables.When(at) : "-")}, next {(status.NextCheck is { } next ? Tables.When(next) : "-")}");
            foreach (var line in status.Errors.Concat(status.Drift.Select(d => $"drift: {d}")))
            {
                Console.WriteLine($"  {line}");
            }
            return status.Sync == "Synced" ? 0 : 2;
        }));

        command.Subcommands.Add(ApiCommand.Create("sync", "Look for a new commit now instead of at the next interval", async (_, client, _, ct) =>
        {
            await client.PostAsync("v1/gitops/sync", null, ct);
            Console.WriteLine("checking the repository now; 'flotilla gitops status' shows the result");
            return 0;
        }));

        command.Subcommands.Add(ApiCommand.Create("remove", "Stop following the repository (what runs stays as it is)", async (_, client, _, ct) =>
        {
            await client.DeleteAsync("v1/gitops", ct);
            Console.WriteLine("no longer following a repository");
            return 0;
        }));
        return command;
    }
}
