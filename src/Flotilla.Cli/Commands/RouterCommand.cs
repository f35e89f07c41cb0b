using System.CommandLine;
using Flotilla.Router;
using Flotilla.Router.Remote;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla router --admin-port N</c> (started by the server, not by people): the data plane
/// as its own process, configured through its loopback admin API, serving its last table.
/// </summary>
internal static class RouterCommand
{
    public static Command Create()
    {
        var port = new Option<int>("--admin-port") { Required = true, Description = "Loopback port of the admin API" };
        var metrics = new Option<string?>("--metrics") { Description = "address:port of an unauthenticated Prometheus endpoint (GET /metrics)" };
        var command = new Command("router", "Run the data plane process (started by 'flotilla server')") { port, metrics };
        command.Hidden = true;
        command.SetAction(async (parse, _) =>
        {
            if (Environment.GetEnvironmentVariable(RouterAdmin.SecretVariable) is not { Length: > 0 } secret)
            {
                Console.Error.WriteLine($"error: {RouterAdmin.SecretVariable} is not set; the router is started by 'flotilla server'");
                return 2;
            }
            using var stop = new ShutdownSignal();
            await using var router = new RouterHost(message => Console.Error.WriteLine($"{DateTimeOffset.UtcNow:O} {message}"));
            Console.WriteLine($"router {Environment.ProcessId}: admin API on 127.0.0.1:{parse.GetValue(port)}");
            var exporter = parse.GetValue(metrics) is { } listen && System.Net.IPEndPoint.TryParse(listen, out var endpoint)
                ? MetricsListener.RunAsync(router, endpoint, Console.WriteLine, stop.Token)
                : Task.CompletedTask;
            await RouterAdmin.RunAsync(router, parse.GetValue(port), secret, stop.Token);
            await exporter;
            Console.WriteLine("router stopping");
            return 0;
        });
        return command;
    }
}
