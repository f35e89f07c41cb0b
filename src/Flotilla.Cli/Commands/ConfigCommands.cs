using System.CommandLine;
using System.Text.Json;
using Flotilla.Api;
using Flotilla.Cli.Client;
using Flotilla.Cli.Output;
using Flotilla.Store;
using Spectre.Console;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla config SERVICE</c> and <c>flotilla secret set|list|rm</c>: configuration with its provenance, and the secret store (values go in, never out).</summary>
internal static class ConfigCommands
{
    public static IEnumerable<Command> Create()
    {
        var service = new Argument<string>("service");
        yield return ApiCommand.Create("config", "A service's effective configuration and where each value came from (base, overlay, secret, Flotilla); secrets are never shown", async (parse, client, json, ct) =>
        {
            var path = $"v1/services/{Uri.EscapeDataString(parse.GetValue(service)!)}/config";
            if (json)
            {
                Console.WriteLine(await client.GetRawAsync(path, ct));
                return 0;
            }
            var config = await client.GetAsync<ServiceConfig>(path, ct);
            Console.WriteLine($"{config.Service} (revision {config.Revision}{(config.Environment is null ? "" : $", environment {config.Environment}")})");
            var table = Tables.Create("variable", "value", "from");
            foreach (var v in config.Variables)
            {
                table.AddRow(Tables.Cells(v.Name, v.Value, v.Source));
            }
            AnsiConsole.Write(table);
            return 0;
        }, service);

        var command = new Command("secret", "The environment's secret store: set, list, rm (values go in, never out)");
        var name = new Argument<string>("name");
        var fromFile = new Option<string?>("--from-file") { Description = "Read the value from this file" };
        var fromStdin = new Option<bool>("--value-stdin") { Description = "Read the value from standard input" };
        command.Subcommands.Add(ApiCommand.Create("set", "Set a secret from a file or standard input (never from the command line, which ps shows)", async (parse, client, json, ct) =>
        {
            string value;
            if (parse.GetValue(fromFile) is { } file)
            {
                value = await File.ReadAllTextAsync(file, ct);
            }
            else if (parse.GetValue(fromStdin))
            {
                value = await Console.In.ReadToEndAsync(ct);
            }
            else
            {
                throw new ApiException("give the value with --from-file FILE or --value-stdin (never on the command line)");
            }
            var answer = await client.PutAsync($"v1/secrets/{Uri.EscapeDataString(parse.GetValue(name)!)}", new SecretBody(value), ct);
            var info = JsonSerializer.Deserialize<SecretInfo>(answer, ApiJson.Options)!;
            Console.WriteLine(json ? answer : $"secret {info.Name}: version {info.Version}; services using it get it at their next apply");
            return 0;
        }, name, fromFile, fromStdin));
        command.Subcommands.Add(ApiCommand.Create("list", "Secrets by name and version, who set them and when", async (_, client, json, ct) =>
        {
            if (json)
            {
                Console.WriteLine(await client.GetRawAsync("v1/secrets", ct));
                return 0;
            }
            var table = Tables.Create("secret", "version", "set by", "when");
            foreach (var s in await client.GetAsync<List<SecretInfo>>("v1/secrets", ct))
            {
                table.AddRow(Tables.Cells(s.Name, $"{s.Version}", s.Actor, Tables.When(s.At)));
            }
            AnsiConsole.Write(table);
            return 0;
        }));
        command.Subcommands.Add(ApiCommand.Create("rm", "Remove a secret", async (parse, client, _, ct) =>
        {
            await client.DeleteAsync($"v1/secrets/{Uri.EscapeDataString(parse.GetValue(name)!)}", ct);
            Console.WriteLine($"secret {parse.GetValue(name)} removed");
            return 0;
        }, name));
        yield return command;
    }
}
