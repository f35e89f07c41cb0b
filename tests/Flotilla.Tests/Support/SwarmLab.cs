using System.Diagnostics;

namespace Flotilla.Tests.Support;

/// <summary>
/// A real Docker Swarm of three nodes on this machine (deploy/swarm-lab/lab.sh: a dockerd per node
/// in its own network namespace), with Flotilla's base image loaded into every node. Made for one
/// test class and removed whole after it: daemons, namespaces, bridge, data.
/// </summary>
public sealed class SwarmLab(int lab = 0) : IAsyncDisposable
{
    private static readonly string Script = Path.Combine(Repository.Root, "deploy", "swarm-lab", "lab.sh");
    private bool _up;

    /// <summary>Which lab (FLOTILLA_LAB): 0 is the one lab; others run beside it, each on 10.231.LAB.0/24.</summary>
    public int Lab { get; } = lab;

    public string Manager { get; private set; } = "";

    public static string NodeAddress(int node) => $"10.231.0.{10 + node}";

    public async Task UpAsync(int nodes = 3)
    {
        _up = true;
        Manager = (await RunAsync(TimeSpan.FromMinutes(2), "up", nodes.ToString(System.Globalization.CultureInfo.InvariantCulture))).Trim();
        await RunAsync(TimeSpan.FromMinutes(4), "load", Flotilla.Runtime.Docker.ContainerImages.BaseImage);
    }

    /// <summary>Cuts a node off the network: its tasks run on but nothing reaches them (connections hang, not refused).</summary>
    public Task CutNodeAsync(int node) => RunAsync(TimeSpan.FromMinutes(1), "cut-node", node.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public Task StartNodeAsync(int node) => RunAsync(TimeSpan.FromMinutes(1), "start-node", node.ToString(System.Globalization.CultureInfo.InvariantCulture));

    public Task StopNodeAsync(int node) => RunAsync(TimeSpan.FromMinutes(1), "stop-node", node.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private async Task<string> RunAsync(TimeSpan timeout, params string[] arguments)
    {
        var start = new ProcessStartInfo("bash") { RedirectStandardOutput = true, RedirectStandardError = true };
        start.Environment["FLOTILLA_LAB"] = Lab.ToString(System.Globalization.CultureInfo.InvariantCulture);
        start.ArgumentList.Add(Script);
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var output = process.StandardOutput.ReadToEndAsync();
        var errors = process.StandardError.ReadToEndAsync();
        using var cancel = new CancellationTokenSource(timeout);
        try
        {
            await process.WaitForExitAsync(cancel.Token);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw new TimeoutException($"lab.sh {string.Join(' ', arguments)} did not finish within {timeout}: {await errors}");
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"lab.sh {string.Join(' ', arguments)} failed ({process.ExitCode}): {await errors}");
        }
        return await output;
    }

    public async ValueTask DisposeAsync()
    {
        if (_up)
        {
            await RunAsync(TimeSpan.FromMinutes(2), "down");
        }
    }
}
