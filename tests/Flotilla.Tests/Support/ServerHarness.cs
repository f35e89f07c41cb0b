using System.Text.Json.Nodes;
using Flotilla.Runtime;

namespace Flotilla.Tests.Support;

/// <summary>
/// A real <c>flotilla server</c> process on a temporary data directory and client config, and
/// the CLI pointed at it. Disposal kills whatever is left (server, router, instances), so a
/// failing test leaks nothing.
/// </summary>
public sealed class ServerHarness : IDisposable
{
    public static readonly TimeSpan Wait = TimeSpan.FromSeconds(90);
    private readonly TempDirectory _dir = new("flotilla-server");
    private readonly List<CliProcess> _servers = [];

    public string DataDirectory => Path.Combine(_dir.Path, "data");
    public string ConfigFile => Path.Combine(_dir.Path, "config.json");
    public string SpecDirectory => Path.Combine(_dir.Path, "spec");
    public IReadOnlyDictionary<string, string> Env => new Dictionary<string, string> { ["FLOTILLA_CONFIG"] = ConfigFile };
    public CliProcess Server => _servers[^1];

    public void WriteSpec(string yaml)
    {
        Directory.CreateDirectory(SpecDirectory);
        File.WriteAllText(Path.Combine(SpecDirectory, "flotilla.yaml"), yaml);
    }

    /// <summary>Starts a server and waits until it listens (and, when it adopts, until it said so).</summary>
    public async Task<CliProcess> StartServerAsync(string? waitFor = null, params string[] extra)
    {
        var server = CliProcess.Start(Env, ["server", "--data", DataDirectory, "--listen", "127.0.0.1:0", .. extra]);
        _servers.Add(server);
        await server.WaitForLine(l => l.StartsWith("flotilla server listening on", StringComparison.Ordinal), Wait, "the server to listen");
        if (waitFor is not null)
        {
            await server.WaitForLine(l => l.Contains(waitFor, StringComparison.Ordinal), Wait, waitFor);
        }
        return server;
    }

    /// <summary>Runs one CLI verb against the server and returns its exit code and output.</summary>
    public async Task<(int Code, string Output)> CliAsync(params string[] args) => await CliAsync(Env, args);

    public static async Task<(int Code, string Output)> CliAsync(IReadOnlyDictionary<string, string> env, params string[] args)
    {
        using var cli = CliProcess.Start(env, args);
        var code = await cli.WaitForExitAsync(Wait);
        return (code, cli.Output);
    }

    public async Task<JsonNode> JsonAsync(params string[] args)
    {
        var (code, output) = await CliAsync([.. args, "-o", "json"]);
        Assert.True(code == 0, $"flotilla {string.Join(' ', args)} exited {code}: {output}");
        return JsonNode.Parse(output)!;
    }

    /// <summary>What every server of this harness printed (its events among it), each under its pid: for a failing test's message.</summary>
    public string Transcript() => string.Join('\n', _servers.Select(s => $"--- server pid {s.Pid}:\n{s.Output}"));

    public int? RouterPid => RouterPidIn(DataDirectory);

    private static int? RouterPidIn(string directory) => File.Exists(Path.Combine(directory, "router.json"))
        ? (int?)JsonNode.Parse(File.ReadAllText(Path.Combine(directory, "router.json")))!["pid"]
        : null;

    /// <summary>The router's worker: the process of the router's group that serves (its supervisor is <see cref="RouterPid"/>).</summary>
    public int? RouterWorkerPid => RouterPid is { } supervisor ? ProcessScan.InGroup(supervisor).Where(p => p != supervisor).Cast<int?>().SingleOrDefault() : null;

    /// <summary>Every live process of this data directory except servers: instances (by their command line) and the router's processes.</summary>
    public IReadOnlyList<int> DataPlanePids()
    {
        var pids = ProcessScan.Mentioning(DataDirectory).Where(p => _servers.All(s => s.Pid != p)).ToList();
        // The root environment's router, and those of the environments run beside it.
        var environments = Path.Combine(DataDirectory, "environments");
        foreach (var directory in Directory.Exists(environments) ? Directory.GetDirectories(environments).Prepend(DataDirectory) : [DataDirectory])
        {
            if (RouterPidIn(directory) is { } router && Posix.IsRunning(router, null))
            {
                pids.AddRange(ProcessScan.InGroup(router).Append(router).Distinct());
            }
        }
        return pids;
    }

    public void Dispose()
    {
        // Read the data plane's pids while the servers' own pids can still be told apart from them.
        var dataPlane = DataPlanePids();
        foreach (var server in _servers)
        {
            server.Dispose();
        }
        // And whatever else runs in the harness's directory: the routers of tenants and federation clusters too.
        foreach (var pid in dataPlane.Concat(ProcessScan.Mentioning(DataDirectory)).Concat(ProcessScan.Under(_dir.Path).Select(p => p.Pid)).Distinct())
        {
            Posix.SignalGroup(pid, Posix.SIGKILL);
            Posix.Signal(pid, Posix.SIGKILL);
        }
        _dir.Dispose();
    }
}
