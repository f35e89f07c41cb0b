using System.CommandLine;
using System.Text.Json;
using Flotilla.Api;
using Flotilla.Cli.Client;
using Flotilla.Cli.Output;
using Spectre.Console;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla environments</c> and <c>flotilla promote</c>: the environments a server runs side by side, and moving exact artifacts between them.</summary>
internal static class EnvironmentCommands
{
    public static IEnumerable<Command> Create()
    {
        yield return ApiCommand.Create("environments", "The environments the server runs side by side: revision, services, instances ready, flags, GitOps", async (_, client, json, ct) =>
        {
            if (json)
            {
                Console.WriteLine(await client.GetRawAsync("v1/environments", ct));
                return 0;
            }
            var table = Tables.Create("environment", "revision", "services", "ready", "flags", "gitops", "data");
            foreach (var e in await client.GetAsync<List<EnvironmentSummary>>("v1/environments", ct))
            {
                table.AddRow(Tables.Cells(e.Environment ?? "(base)", $"{e.Revision}", $"{e.Services}", $"{e.Ready}/{e.Desired}", e.Flags ?? "-", e.GitOps ?? "-", e.DataDirectory));
            }
            AnsiConsole.Write(table);
            return 0;
        });

        var services = new Argument<string[]>("service") { Description = "The services to promote (none: --all)", Arity = ArgumentArity.ZeroOrMore };
        var all = new Option<bool>("--all") { Description = "Every service the two environments have in common" };
        var from = new Option<string>("--from") { Description = "The environment whose artifacts move", Required = true };
        var to = new Option<string>("--to") { Description = "The environment that runs them next, with its own configuration", Required = true };
        yield return ApiCommand.Create("promote", "Run in --to the exact artifacts --from runs (same digests, no rebuild), with --to's own configuration", async (parse, client, json, ct) =>
        {
            var names = parse.GetValue(services) ?? [];
            if (names.Length == 0 && !parse.GetValue(all))
            {
                throw new ApiException("name the services to promote, or --all");
            }
            using var target = client.For(parse.GetValue(to)!);
            var answer = await target.PostAsync("v1/promote", new PromoteBody(parse.GetValue(from), names.Length == 0 ? null : names), ct);
            var result = JsonSerializer.Deserialize<ApplyResponse>(answer, ApiJson.Options)!;
            Console.WriteLine(json ? answer : $"{parse.GetValue(to)}: revision {result.Revision}: {result.Summary}");
            return 0;
        }, services, all, from, to);
    }
}
