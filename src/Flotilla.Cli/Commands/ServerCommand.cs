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
            DefaultValueFactory = _ => Environment.GetEnvironmentVariable("FLOTILLA_DATA") ?? DefaultDataDirectory(),
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
        var certificate = new Option<string?>("--tls-cert") { Description = "PEM certificate (chain) the API serves HTTPS with; with --tls-key" };
        var key = new Option<string?>("--tls-key") { Description = "PEM private key of --tls-cert (unencrypted)" };
        var tls = new Option<bool>("--tls") { Description = "Serve HTTPS even on loopback (a self-signed certificate kept in the data directory, unless --tls-cert)" };
        var insecure = new Option<bool>("--insecure-http") { Description = "Serve plain HTTP on a non-loopback address (tokens cross the network in clear text; for a TLS-terminating proxy in front)" };
        var instanceUsers = new Option<string?>("--instance-users")
        {
            Description = "on (the default as root): each service's local instances run as a Unix user of their own; off: as Flotilla's user, not isolated from each other (also FLOTILLA_INSTANCE_USERS=off)",
        };
        instanceUsers.AcceptOnlyFromAmong("on", "off");
        var engine = RouterEngineOption();
        var command = new Command("server", "Run the control plane: HTTP API, durable store, controllers; the data plane outlives it") { data, listen, metrics, certificate, key, tls, insecure, instanceUsers, engine };
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
            var directory = Path.GetFullPath(parse.GetValue(data)!);
            ApiTls? transport;
            try
            {
                // Before anything starts: a certificate that cannot be used leaves nothing running.
                transport = ApiTls.Resolve(directory, endpoint, parse.GetValue(certificate), parse.GetValue(key), parse.GetValue(tls), parse.GetValue(insecure));
            }
            catch (Tls.TlsSetupException e)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 2;
            }
            return await RunAsync(directory, endpoint, parse.GetValue(metrics), transport, parse.GetValue(instanceUsers), parse.GetValue(engine)!);
        });
        return command;
    }

    /// <summary>--router-engine: the embedded router (yarp, the default) or HAProxy driven through its runtime API.</summary>
    public static Option<string> RouterEngineOption()
    {
        var engine = new Option<string>("--router-engine")
        {
            Description = "yarp (the default): the embedded router, every feature; haproxy: HAProxy (2.6+, on PATH) driven through its runtime API, faster, without latency histograms, targeting, mirroring, flags and functions (see the README's \"Router engines\")",
            DefaultValueFactory = _ => "yarp",
        };
        engine.AcceptOnlyFromAmong("yarp", "haproxy");
        return engine;
    }

    /// <summary>
    /// ~/.local/share/flotilla; as root /var/lib/flotilla (unless the former exists already): root's home is
    /// 0700, which instance users cannot pass through to reach their own files (see InstanceUsers).
    /// </summary>
    private static string DefaultDataDirectory()
    {
        var home = Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".local", "share", "flotilla");
        return Environment.IsPrivilegedProcess && !Directory.Exists(home) ? "/var/lib/flotilla" : home;
    }

    private static async Task<int> RunAsync(string data, IPEndPoint listen, string? metrics, ApiTls? transport, string? instanceUsers, string engine)
    {
        using var stop = new ShutdownSignal();
        ControlPlanes planes;
        try
        {
            var options = new ControlPlaneOptions(data, SelfCommand()) { RouterArguments = metrics is null ? [] : ["--metrics", metrics], RouterEngine = engine };
            planes = await ControlPlanes.StartAsync(instanceUsers is null ? options : options with { InstanceUsers = instanceUsers == "on" }, stop.Token);
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
            federations = await Federation.Federations.StartAsync(new ControlPlaneOptions(data, SelfCommand()), cancellationToken: stop.Token, planes: planes);
            await using var api = await ApiServer.StartAsync(planes, listen, transport?.Certificate, stop.Token, federations);
            Console.WriteLine($"flotilla server listening on {api.Url} (data: {data})");
            transport?.Announce(api.Url, listen);
            Credentials(planes.Root, api.Url, transport?.Fingerprint);
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
    /// Later starts: the config's URL and pinned fingerprint follow the server (a new port, a new certificate), its token stays.
    /// </summary>
    private static void Credentials(ControlPlane plane, string url, string? fingerprint)
    {
        if (plane.Store.Tokens().Count == 0)
        {
            var admin = plane.Store.CreateToken("admin", Tenancy.TenantRoles.Operator, "server", DateTimeOffset.UtcNow);
            var read = plane.Store.CreateToken("read", Tenancy.TenantRoles.Viewer, "server", DateTimeOffset.UtcNow);
            new ClientConfig(url, admin, fingerprint).Save();
            Console.WriteLine($"created the operator token 'admin' and saved it with the URL{(fingerprint is null ? "" : " and the certificate's fingerprint")} to {ClientConfig.FilePath}");
            Console.WriteLine($"read-only token (shown once): {read}");
        }
        else if (ClientConfig.Load() is { } config && (config.Server != url || config.Fingerprint != fingerprint))
        {
            (config with { Server = url, Fingerprint = fingerprint, CaFile = fingerprint is null ? config.CaFile : null }).Save();
            Console.WriteLine($"updated the server URL{(config.Fingerprint == fingerprint ? "" : " and the pinned fingerprint")} in {ClientConfig.FilePath}");
        }
    }

    /// <summary>How to run this very Flotilla again (for the router process).</summary>
    public static IReadOnlyList<string> SelfCommand()
    {
        var path = Environment.ProcessPath!;
        return Path.GetFileNameWithoutExtension(path) == "dotnet" ? [path, System.Reflection.Assembly.GetEntryAssembly()!.Location] : [path];
    }
}
