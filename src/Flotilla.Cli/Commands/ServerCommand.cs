using System.CommandLine;
using System.Net;
using Flotilla.Api;
using Flotilla.Cli.Client;
using Flotilla.Hosting;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla server --data DIR</c>: the control plane as a long-running service (API, store,
/// controllers). The router runs as its own process and instances in their own process groups,
/// so stopping or killing the server leaves traffic flowing; the next server adopts them.
/// </summary>
internal static class ServerCommand
{
    public static Command Create()
    {
        var data = new Option<string>("--data")
        {
            Description = "Where the store, artifacts, instance directories and logs go",
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("FLOTILLA_DATA")
                ?? Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share", "flotilla"),
        };
        var listen = new Option<string>("--listen")
        {
            Description = "Address and port of the API (port 0: any free one)",
            DefaultValueFactory = _ => "127.0.0.1:7070",
        };
        var metrics = new Option<string?>("--metrics")
        {
            Description = "Address and port where the router process serves Prometheus metrics itself (GET /metrics, no token), e.g. 127.0.0.1:9464",
        };
        var command = new Command("server", "Run the control plane: HTTP API, durable store, controllers; the data plane outlives it") { data, listen, metrics };
        command.SetAction(async (parse, _) =>
        {
            if (!IPEndPoint.TryParse(parse.GetValue(listen)!, out var endpoint))
            {
                Console.Error.WriteLine($"error: --listen '{parse.GetValue(listen)}' is not an address:port, e.g. 127.0.0.1:7070");
                return 2;
            }
            if (parse.GetValue(metrics) is { } exporter && !IPEndPoint.TryParse(exporter, out IPEndPoint? _))
            {
                Console.Error.WriteLine($"error: --metrics '{exporter}' is not an address:port, e.g. 127.0.0.1:9464");
                return 2;
            }
            return await RunAsync(Path.GetFullPath(parse.GetValue(data)!), endpoint, parse.GetValue(metrics));
        });
        return command;
    }

    private static async Task<int> RunAsync(string data, IPEndPoint listen, string? metrics)
    {
        using var stop = new ShutdownSignal();
        ControlPlanes planes;
        try
        {
            planes = await ControlPlanes.StartAsync(new ControlPlaneOptions(data, SelfCommand()) { RouterArguments = metrics is null ? [] : ["--metrics", metrics] }, stop.Token);
        }
        catch (ControlPlaneException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        var stopDataPlane = false;
        Federation.Federations? federations = null;
        try
        {
            // Environments over clusters: each cluster's control plane re-adopts what it ran.
            federations = await Federation.Federations.StartAsync(new ControlPlaneOptions(data, SelfCommand()), cancellationToken: stop.Token);
            await using var api = await ApiServer.StartAsync(planes, listen, stop.Token, federations);
            Console.WriteLine($"flotilla server listening on {api.Url} (data: {data})");
            Credentials(planes.Root, api.Url);
            foreach (var plane in planes.All)
            {
                var prefix = plane == planes.Root ? "" : $"[{plane.State.Environment}] ";
                foreach (var e in plane.Events.Since(plane.FirstEventOfThisStart - 1).Where(e => e.Subject is "router" or "control-plane"))
                {
                    Console.WriteLine($"{prefix}{e.Subject}: {e.Message}");
                }
            }
            var stopped = new TaskCompletionSource();
            using var registration = stop.Token.Register(stopped.SetResult);
            if (await Task.WhenAny(api.ShutdownRequested, stopped.Task) == api.ShutdownRequested)
            {
                stopDataPlane = await api.ShutdownRequested;
            }
            if (stopDataPlane)
            {
                Console.WriteLine("stopping every instance (draining first) and the router...");
                await planes.StopDataPlanesAsync();
                await federations.StopDataPlanesAsync();
            }
        }
        finally
        {
            if (federations is not null)
            {
                await federations.DisposeAsync();
            }
            await planes.DisposeAsync();
        }
        Console.WriteLine(stopDataPlane ? "stopped everything" : "control plane stopped; the router and instances keep serving, and the next 'flotilla server' on this data directory adopts them");
        return 0;
    }

    /// <summary>
    /// First start: a server-wide operator token and a server-wide viewer token, the operator one saved to the client config.
    /// Later starts: the config's URL follows the server (a new port), its token stays.
    /// </summary>
    private static void Credentials(ControlPlane plane, string url)
    {
        if (plane.Store.Tokens().Count == 0)
        {
            var admin = plane.Store.CreateToken("admin", Tenancy.TenantRoles.Operator, "server", DateTimeOffset.UtcNow);
            var read = plane.Store.CreateToken("read", Tenancy.TenantRoles.Viewer, "server", DateTimeOffset.UtcNow);
            new ClientConfig(url, admin).Save();
            Console.WriteLine($"created the operator token 'admin' and saved it with the URL to {ClientConfig.FilePath}");
            Console.WriteLine($"read-only token (shown once): {read}");
        }
        else if (ClientConfig.Load() is { } config && config.Server != url)
        {
            (config with { Server = url }).Save();
            Console.WriteLine($"updated the server URL in {ClientConfig.FilePath}");
        }
    }

    /// <summary>How to run this very Flotilla again (for the router process).</summary>
    public static IReadOnlyList<string> SelfCommand()
    {
        var path = Environment.ProcessPath!;
        return Path.GetFileNameWithoutExtension(path) == "dotnet" ? [path, System.Reflection.Assembly.GetEntryAssembly()!.Location] : [path];
    }
}
