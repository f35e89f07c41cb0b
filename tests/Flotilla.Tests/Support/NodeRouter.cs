using Flotilla.Runtime;

namespace Flotilla.Tests.Support;

/// <summary>
/// A router replica as an operator starts one on another machine: <c>flotilla router --bind ADDRESS</c>, inside a
/// node's network namespace of the <see cref="SwarmLab"/>, or on another loopback address (127.0.0.2) of this
/// machine. It can be killed -9 and started again in the same directory on the same admin port. Disposing stops
/// it (its whole process group: supervisor and worker) and removes its directory.
/// </summary>
public sealed class NodeRouter : IAsyncDisposable
{
    private readonly string? _netns;
    private readonly IReadOnlyList<string> _extra;
    private readonly TempDirectory _dir = new("flotilla-node-router");
    private int _pid;
    private Task<int?> _exited = Task.FromResult<int?>(null);

    public NodeRouter(int node) : this(SwarmLab.NodeAddress(node), $"/run/netns/flt-lab-n{node}")
    {
    }

    /// <param name="extra">More arguments of <c>flotilla router</c> (e.g. <c>--state FILE</c>).</param>
    public NodeRouter(string address, string? netns = null, IReadOnlyList<string>? extra = null)
    {
        Address = address;
        _netns = netns;
        _extra = extra ?? [];
        AdminPort = Flotilla.Net.PortAllocator.Next();
        Secret = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        _pid = Start();
    }

    public string Address { get; }
    public int AdminPort { get; }
    public string Secret { get; }

    /// <summary>The admin URL the control plane is given (FLOTILLA_ROUTERS).</summary>
    public string Admin => $"http://{Address}:{AdminPort}";

    public string Url(int port, string path = "/") => $"http://{Address}:{port}{path}";

    /// <summary>What the router printed (its supervisor's output).</summary>
    public string Output => File.Exists(Path.Combine(_dir.Path, "router.out")) ? File.ReadAllText(Path.Combine(_dir.Path, "router.out")) : "";

    private int Start()
    {
        // setsid(1): a session (and so a scheduler autogroup) of its own, as a router on another machine would
        // have, so it is not starved by the test process on two busy cores; started outside any process group
        // of its own, setsid(1) calls setsid() itself without forking, so its pid is the router's.
        var command = new List<string> { "/usr/bin/setsid" };
        if (_netns is not null)
        {
            command.AddRange(["/usr/bin/nsenter", $"--net={_netns}"]);
        }
        command.AddRange([Environment.ProcessPath!, Path.Combine(AppContext.BaseDirectory, "flotilla.dll"), "router",
            "--admin-port", AdminPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", Address, .. _extra]);
        var env = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal);
        env[Flotilla.Router.Remote.RouterAdmin.SecretVariable] = Secret;
        // No debugger pipes or diagnostics socket left in /tmp when it is killed -9 (see CliProcess).
        env["DOTNET_EnableDiagnostics"] = "0";
        // posix_spawn as Flotilla starts its own router: a process group of its own (setsid's; the supervisor and its
        // worker end together), and no descriptor of the test run inherited (a leaked replica once held the
        // test lock, /tmp/flotilla-heavy.lock, for every run after it).
        var pid = PosixSpawn.Start(command[0], command.Skip(1).ToList(), env, _dir.Path, Path.Combine(_dir.Path, "router.out"), ownProcessGroup: false);
        _exited = Task.Factory.StartNew(() => PosixSpawn.WaitForExit(pid), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        return pid;
    }

    /// <summary>kill -9 of the whole router (supervisor and worker): as if its machine went away.</summary>
    public async Task KillAsync()
    {
        Posix.SignalGroup(_pid, Posix.SIGKILL);
        await _exited;
        // The worker may outlive the supervisor by a moment; it ends when it sees the supervisor gone.
        await Eventually.Until(() => !GroupAlive(), TimeSpan.FromSeconds(20), "the killed router's processes to end");
    }

    /// <summary>Starts it again in the same directory, on the same admin port (it serves its last state from there).</summary>
    public void Restart() => _pid = Start();

    private bool GroupAlive() => Posix.SignalGroup(_pid, 0);

    public async ValueTask DisposeAsync()
    {
        Posix.SignalGroup(_pid, Posix.SIGTERM);
        if (await Task.WhenAny(_exited, Task.Delay(TimeSpan.FromSeconds(20))) != _exited)
        {
            Posix.SignalGroup(_pid, Posix.SIGKILL);
            await _exited;
        }
        Posix.SignalGroup(_pid, Posix.SIGKILL);
        _dir.Dispose();
    }
}
