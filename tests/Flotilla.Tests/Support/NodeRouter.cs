using System.Diagnostics;
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
    private readonly TempDirectory _dir = new("flotilla-node-router");
    private Process _process;

    public NodeRouter(int node) : this(SwarmLab.NodeAddress(node), $"/run/netns/flt-lab-n{node}")
    {
    }

    public NodeRouter(string address, string? netns = null)
    {
        Address = address;
        _netns = netns;
        AdminPort = Flotilla.Net.PortAllocator.Next();
        Secret = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        _process = Start();
    }

    public string Address { get; }
    public int AdminPort { get; }
    public string Secret { get; }

    /// <summary>The admin URL the control plane is given (FLOTILLA_ROUTERS).</summary>
    public string Admin => $"http://{Address}:{AdminPort}";

    public string Url(int port, string path = "/") => $"http://{Address}:{port}{path}";

    private Process Start()
    {
        // setsid: the router is its own process group, so the supervisor and its worker end together.
        var start = new ProcessStartInfo("setsid") { WorkingDirectory = _dir.Path, RedirectStandardOutput = true, RedirectStandardError = true };
        var command = new List<string>();
        if (_netns is not null)
        {
            command.AddRange(["nsenter", $"--net={_netns}"]);
        }
        command.AddRange(["dotnet", Path.Combine(AppContext.BaseDirectory, "flotilla.dll"), "router",
            "--admin-port", AdminPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", Address]);
        foreach (var argument in command)
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment[Flotilla.Router.Remote.RouterAdmin.SecretVariable] = Secret;
        // No debugger pipes or diagnostics socket left in /tmp when it is killed -9 (see CliProcess).
        start.Environment["DOTNET_EnableDiagnostics"] = "0";
        var process = Process.Start(start)!;
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        return process;
    }

    /// <summary>kill -9 of the whole router (supervisor and worker): as if its machine went away.</summary>
    public async Task KillAsync()
    {
        Posix.SignalGroup(_process.Id, Posix.SIGKILL);
        await _process.WaitForExitAsync();
        // The worker may outlive the supervisor by a moment; it ends when it sees the supervisor gone.
        await Eventually.Until(() => !Posix.IsRunning(_process.Id, null) && !GroupAlive(), TimeSpan.FromSeconds(20), "the killed router's processes to end");
    }

    /// <summary>Starts it again in the same directory, on the same admin port (it serves its last state from there).</summary>
    public void Restart()
    {
        _process.Dispose();
        _process = Start();
    }

    private bool GroupAlive() => Posix.SignalGroup(_process.Id, 0);

    public async ValueTask DisposeAsync()
    {
        Posix.SignalGroup(_process.Id, Posix.SIGTERM);
        using var wait = new CancellationTokenSource(TimeSpan.FromSeconds(20));
        try
        {
            await _process.WaitForExitAsync(wait.Token);
        }
        catch (OperationCanceledException)
        {
            Posix.SignalGroup(_process.Id, Posix.SIGKILL);
            await _process.WaitForExitAsync();
        }
        Posix.SignalGroup(_process.Id, Posix.SIGKILL);
        _process.Dispose();
        _dir.Dispose();
    }
}
