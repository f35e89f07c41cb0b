using System.CommandLine;
using Flotilla.Api;
using Flotilla.Cli.Output;
using Flotilla.Router.Mirror;
using Spectre.Console;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla parallel report SERVICE</c>: what a parallel run compared and found.</summary>
internal static class ParallelCommand
{
    public static Command Create()
    {
        var command = new Command("parallel", "Parallel runs: live requests mirrored to a candidate and compared");
        var service = new Argument<string>("service");
        command.Subcommands.Add(ApiCommand.Create("report", "Requests compared, mismatches, the fields that differ most (with examples), noise, candidate errors and latency", async (parse, client, json, ct) =>
        {
            var path = $"v1/services/{Uri.EscapeDataString(parse.GetValue(service)!)}/parallel";
            if (json)
            {
                Console.WriteLine(await client.GetRawAsync(path, ct));
                return 0;
            }
            AnsiConsole.Write(ParallelView.Render(await client.GetAsync<ParallelReport>(path, ct)));
            return 0;
        }, service));
        return command;
    }
}
