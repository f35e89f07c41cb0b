using System.CommandLine;
using Flotilla.Api;
using Flotilla.Cli.Client;
using Flotilla.Cli.Output;
using Spectre.Console;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla db ls|status</c>: each service's database, and the engines Flotilla runs with their replicas' lag.</summary>
internal static class DatabaseCommands
{
    public static IEnumerable<Command> Create()
    {
        var command = new Command("db", "Databases: each service's own (ls) and the engines Flotilla runs, with replica lag (status)");
        command.Subcommands.Add(ApiCommand.Create("ls", "Each service's database: engine, name, injected variables, migrations", async (_, client, json, ct) =>
        {
            if (json)
            {
                Console.WriteLine(await client.GetRawAsync("v1/databases", ct));
                return 0;
            }
            var view = await client.GetAsync<DatabasesView>("v1/databases", ct);
            var table = Tables.Create("service", "database", "engine", "variables", "migrations");
            foreach (var d in view.Databases)
            {
                table.AddRow(Tables.Cells(d.Service, d.Database, d.Engine, string.Join(", ", d.Variables), d.Migrations ?? "-"));
            }
            AnsiConsole.Write(table);
            return 0;
        }));
        command.Subcommands.Add(ApiCommand.Create("status", "The engines: servers Flotilla runs (port, pid, ready) and each replica's state and lag", async (_, client, json, ct) =>
        {
            if (json)
            {
                Console.WriteLine(await client.GetRawAsync("v1/databases", ct));
                return 0;
            }
            var view = await client.GetAsync<DatabasesView>("v1/databases", ct);
            foreach (var engine in view.Engines)
            {
                Console.WriteLine($"engine {engine.Name} ({engine.Kind}, {engine.RunBy}{(engine.Replicas > 0 ? $", {engine.Replicas} replica{(engine.Replicas == 1 ? "" : "s")}" : "")})");
                foreach (var server in view.Servers.Where(s => s.Engine == engine.Name))
                {
                    Console.WriteLine($"  {server.Role} port {server.Port} {(server.Pid is { } pid ? $"pid {pid}" : "not running")} {(server.Ready ? "ready" : "not ready")}{(server.Failures > 0 ? $" ({server.Failures} failures)" : "")}");
                }
                foreach (var replica in view.Replicas.Where(r => r.Engine == engine.Name))
                {
                    Console.WriteLine($"  {replica.Replica} {replica.State} {replica.SyncState} lag {replica.LagBytes} bytes{(replica.ReplayLagMs is { } ms ? $" ({ms:0.0} ms)" : "")}");
                }
            }
            if (view.Engines.Count == 0)
            {
                Console.WriteLine("no engines: every database is a SQLite file (flotilla db ls)");
            }
            return 0;
        }));
        yield return command;
    }
}
