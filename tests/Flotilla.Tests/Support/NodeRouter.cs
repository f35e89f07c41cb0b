using System.Diagnostics;
using Flotilla.Runtime;

namespace Flotilla.Tests.Support;

/// <summary>
/// A router replica on a node of the <see cref="SwarmLab"/>: <c>flotilla router --bind NODE-ADDRESS</c> run
/// inside the node's network namespace, as an operator would start one on each machine. Stopped (its whole
/// process group: supervisor and worker) and its directory removed on dispose.
/// </summary>
public sealed class NodeRouter : IAsyncDisposable
{
    private readonly Process _process;
    private readonly TempDirectory _dir = new("flotilla-node-router");

    public NodeRouter(int node)
    {
        Address = SwarmLab.NodeAddress(node);
        AdminPort = Flotilla.Net.PortAllocator.Next();
        Secret = Convert.ToHexStringLower(System.Security.Cryptography.RandomNumberGenerator.GetBytes(16));
        // setsid: the router is its own process group, so the supervisor and its worker end together.
        var start = new ProcessStartInfo("setsid") { WorkingDirectory = _dir.Path, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in new[] { "nsenter", $"--net=/run/netns/flt-lab-n{node}", "dotnet", Path.Combine(AppContext.BaseDirectory, "flotilla.dll"),
            "router", "--admin-port", AdminPort.ToString(System.Globalization.CultureInfo.InvariantCulture), "--bind", Address })
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment[Flotilla.Router.Remote.RouterAdmin.SecretVariable] = Secret;
        _process = Process.Start(start)!;
        _process.BeginOutputReadLine();
        _process.BeginErrorReadLine();
    }

    public string Address { get; }
    public int AdminPort { get; }
    public string Secret { get; }

    /// <summary>The admin URL the control plane is given (FLOTILLA_ROUTERS).</summary>
    public string Admin => $"http://{Address}:{AdminPort}";

    public string Url(int port, string path = "/") => $"http://{Address}:{port}{path}";

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
