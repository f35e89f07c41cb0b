using System.CommandLine;
using Flotilla.Router.Remote;
using Flotilla.Router.Supervisor;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla router --admin-port N</c> (started by the server; by people on other machines, as a replica
/// with <c>--bind</c>): the data plane as its own process, configured through its admin API, serving its last table. It is
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
        var bind = new Option<string>("--bind") { DefaultValueFactory = _ => "127.0.0.1", Description = "The address the endpoints, flags and admin API listen on (a node's address for a router replica that serves other machines)" };
        var state = new Option<string?>("--state") { Description = "Start from this state (endpoints and routing table as GET /admin/state gives them), e.g. the ConfigMap 'flotilla render --target kubernetes' writes" };
        var command = new Command("router", "Run the data plane process (started by 'flotilla server'; on other machines, a router replica it feeds: see FLOTILLA_ROUTERS)") { port, metrics, worker, supervisor, warmUp, bind, state };
        command.SetAction(async (parse, _) =>
        {
            if (Environment.GetEnvironmentVariable(RouterAdmin.SecretVariable) is not { Length: > 0 } secret)
            {
                Console.Error.WriteLine($"error: {RouterAdmin.SecretVariable} is not set; 'flotilla server' starts its own router, and a replica on another machine needs the secret its control plane is given as FLOTILLA_ROUTERS_SECRET");
                return 2;
            }
            if (!System.Net.IPAddress.TryParse(parse.GetValue(bind), out var address))
            {
                return Fail($"--bind {parse.GetValue(bind)} is not an IP address (e.g. 127.0.0.1, or the address of this machine that the others reach)");
            }
            if (parse.GetValue(worker))
            {
                return parse.GetValue(supervisor) is { } pid
                    ? await RunWorkerAsync(pid, address, parse.GetValue(port), parse.GetValue(metrics), secret, parse.GetValue(warmUp))
                    : Fail("--worker needs --supervisor PID");
            }
            if (parse.GetValue(state) is { } seed && RouterProcesses.SeedState(seed) is { } wrong)
            {
                return Fail(wrong);
            }
            return await RunSupervisorAsync(address, parse.GetValue(port), parse.GetValue(metrics));
        });
        return command;
    }

    private static int Fail(string message)
    {
        Console.Error.WriteLine($"error: {message}");
        return 2;
    }

    private static async Task<int> RunSupervisorAsync(System.Net.IPAddress bind, int adminPort, string? metrics)
    {
        using var stop = new ShutdownSignal();
        await RouterProcesses.RunSupervisorAsync(ServerCommand.SelfCommand(), bind, adminPort, metrics, stop.Token);
        return 0;
    }

    private static async Task<int> RunWorkerAsync(int supervisorPid, System.Net.IPAddress bind, int adminPort, string? metrics, string secret, bool warmUp)
    {
        using var stop = new ShutdownSignal();
        await RouterProcesses.RunWorkerAsync(supervisorPid, bind, adminPort, metrics, secret, warmUp, stop.Token);
        return 0;
    }
}
