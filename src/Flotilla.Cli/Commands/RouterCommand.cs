using System.CommandLine;
using Flotilla.Router.Remote;
using Flotilla.Router.Supervisor;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla router --admin-port N</c> (started by the server, not by people): the data plane
/// as its own process, configured through its loopback admin API, serving its last table. It is
/// a supervisor that holds the listening sockets and runs the router as a worker process
/// (<c>--worker</c>) on copies of them; SIGHUP, or the admin API's reload, replaces the worker
/// without dropping a request.
/// </summary>
internal static class RouterCommand
{
    public static Command Create()
    {
        var port = new Option<int>("--admin-port") { Required = true, Description = "Loopback port of the admin API" };
        var metrics = new Option<string?>("--metrics") { Description = "address:port of an unauthenticated Prometheus endpoint (GET /metrics)" };
        var worker = new Option<bool>("--worker") { Description = "Serve as the worker of the supervisor given by --supervisor" };
        var supervisor = new Option<int?>("--supervisor") { Description = "The supervisor's pid (with --worker)" };
        var warmUp = new Option<bool>("--warm-up") { Description = "Warm the request path up before serving (with --worker, on a reload)" };
        var command = new Command("router", "Run the data plane process (started by 'flotilla server')") { port, metrics, worker, supervisor, warmUp };
        command.Hidden = true;
        command.SetAction(async (parse, _) =>
        {
            if (Environment.GetEnvironmentVariable(RouterAdmin.SecretVariable) is not { Length: > 0 } secret)
            {
                Console.Error.WriteLine($"error: {RouterAdmin.SecretVariable} is not set; the router is started by 'flotilla server'");
                return 2;
            }
            if (parse.GetValue(worker))
            {
                return parse.GetValue(supervisor) is { } pid
                    ? await RunWorkerAsync(pid, parse.GetValue(port), parse.GetValue(metrics), secret, parse.GetValue(warmUp))
                    : Fail("--worker needs --supervisor PID");
            }
            return await RunSupervisorAsync(parse.GetValue(port), parse.GetValue(metrics));
        });
        return command;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 2;
    }

    private static async Task<int> RunSupervisorAsync(int adminPort, string? metrics)
    {
        using var stop = new ShutdownSignal();
        await RouterProcesses.RunSupervisorAsync(ServerCommand.SelfCommand(), adminPort, metrics, stop.Token);
        return 0;
    }

    private static async Task<int> RunWorkerAsync(int supervisorPid, int adminPort, string? metrics, string secret, bool warmUp)
    {
        using var stop = new ShutdownSignal();
        await RouterProcesses.RunWorkerAsync(supervisorPid, adminPort, metrics, secret, warmUp, stop.Token);
        return 0;
    }
}
