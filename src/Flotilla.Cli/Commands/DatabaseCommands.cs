using System.CommandLine;
using Flotilla.Api;
using Flotilla.Cli.Client;
using Flotilla.Cli.Output;
using Spectre.Console;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla db ls|status|migrate|shell</c>: each service's database, the engines Flotilla runs with their replicas' lag, migrations, a person's session.</summary>
internal static class DatabaseCommands
{
    public static IEnumerable<Command> Create()
    {
        var command = new Command("db", "Databases: each service's own (ls), the engines Flotilla runs with replica lag (status), migrations (migrate --dry-run), psql or sqlite3 on one (shell)");
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
                    Console.WriteLine($"  {server.Role}{(server.Primary ? " [primary]" : "")} port {server.Port} {(server.Pid is { } pid ? $"pid {pid}" : "not running")} {(server.Ready ? "ready" : "not ready")}{(server.Failures > 0 ? $" ({server.Failures} failures)" : "")}");
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
        var service = new Argument<string>("service");
        var dryRun = new Option<bool>("--dry-run") { Description = "Show what the next apply would run (the only mode: migrations run as a step of 'flotilla apply')" };
        command.Subcommands.Add(ApiCommand.Create("migrate", "A service's migrations: applied (when, by whom) and what the next apply would run, or why it would refuse", async (parse, client, json, ct) =>
        {
            if (!parse.GetValue(dryRun))
            {
                throw new ApiException("migrations run as a step of 'flotilla apply', before the new revision's instances start; use --dry-run to see what it would run");
            }
            var path = $"v1/databases/{Uri.EscapeDataString(parse.GetValue(service)!)}/migrations";
            if (json)
            {
                Console.WriteLine(await client.GetRawAsync(path, ct));
                return 0;
            }
            var report = await client.GetAsync<Flotilla.Databases.MigrationReport>(path, ct);
            foreach (var applied in report.Applied)
            {
                Console.WriteLine($"applied  {applied.Name}  {Tables.When(applied.AppliedAt)} by {applied.AppliedBy}  sha256 {applied.Checksum[..12]}");
            }
            foreach (var pending in report.Pending)
            {
                Console.WriteLine($"pending  {pending}  (runs at the next apply)");
            }
            if (report.Refusal is { } refusal)
            {
                Console.WriteLine($"refused: {refusal}");
                return 1;
            }
            if (report.Applied.Count == 0 && report.Pending.Count == 0)
            {
                Console.WriteLine("no migrations");
            }
            return 0;
        }, service, dryRun));
        command.Subcommands.Add(DatabaseShell.Create());
        yield return command;
    }
}
