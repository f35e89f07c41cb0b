using System.Globalization;
using System.Net;
using System.Runtime.InteropServices;
using Flotilla.Router.Remote;

namespace Flotilla.Router.Supervisor;

/// <summary>The two processes of a router started by the control plane: its supervisor and the worker that serves.</summary>
public static class RouterProcesses
{
    private static void Log(string message) => Console.Error.WriteLine($"{DateTimeOffset.UtcNow:O} {message}");

    /// <summary>Makes <paramref name="source"/> the state the router starts from (in the current directory, where the worker reads it); null, or what is wrong with it.</summary>
    public static string? SeedState(string source) =>
        new RouterStateFile(Path.Combine(Environment.CurrentDirectory, RouterStateFile.FileName)).SeedFrom(source);

    /// <summary>Holds the sockets and keeps a worker serving on them until <paramref name="stopping"/>; SIGHUP replaces the worker.</summary>
    /// <param name="self">How to run this Flotilla again (program and leading arguments).</param>
    /// <param name="bind">The address every socket of the router listens on.</param>
    public static async Task RunSupervisorAsync(IReadOnlyList<string> self, IPAddress bind, int adminPort, string? metrics, CancellationToken stopping)
    {
        var arguments = self.Skip(1).Concat(["router", "--worker", "--supervisor", Environment.ProcessId.ToString(CultureInfo.InvariantCulture),
            "--admin-port", adminPort.ToString(CultureInfo.InvariantCulture), "--bind", bind.ToString()]).Concat(metrics is null ? [] : ["--metrics", metrics]).ToList();
        var env = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal);
        var log = Path.Combine(Environment.CurrentDirectory, "logs", "router.log");
        // A router started by hand (a replica on another machine) runs in a directory of its own, with no logs/ yet.
        Directory.CreateDirectory(Path.GetDirectoryName(log)!);
        var supervisor = new RouterSupervisor(
            warmUp => Runtime.PosixSpawn.Start(self[0], warmUp ? [.. arguments, "--warm-up"] : arguments, env, Environment.CurrentDirectory, log, ownProcessGroup: false), Log);
        using var reload = PosixSignalRegistration.Create(PosixSignal.SIGHUP, context =>
        {
            context.Cancel = true;
            supervisor.RequestReload();
        });
        Console.WriteLine($"router supervisor {Environment.ProcessId}: admin API on {new IPEndPoint(bind, adminPort)}");
        await supervisor.RunAsync(bind, adminPort, stopping);
        Console.WriteLine($"router supervisor {Environment.ProcessId} stopped");
    }

    /// <summary>Serves on the supervisor's sockets, from the last saved state, until <paramref name="stopping"/> or the supervisor is gone.</summary>
    /// <param name="warmUp">Run requests through a throwaway endpoint first (a reload: the old worker serves meanwhile).</param>
    public static async Task RunWorkerAsync(int supervisorPid, IPAddress bind, int adminPort, string? metrics, string secret, bool warmUp, CancellationToken stopping)
    {
        if (warmUp)
        {
            await WorkerWarmUp.RunAsync(stopping);
        }
        await using var channel = await SupervisorChannel.ConnectAsync(supervisorPid, stopping);
        using var lifetime = CancellationTokenSource.CreateLinkedTokenSource(stopping, channel.Lost);
        var listeners = new HeldListeners(channel, bind);
        await using var router = new RouterHost(Log, listeners);
        var state = new RouterStateFile(Path.Combine(Environment.CurrentDirectory, RouterStateFile.FileName));
        // Serve the last table before anything else: the sockets hold connections that waited for us.
        await state.RestoreAsync(router, Log, lifetime.Token);
        await channel.SendAsync(new SupervisorRequest("ready"), lifetime.Token);
        // Beside a worker that is being retired, follow what it still changes until it has left.
        var seen = state.LastWritten;
        while (!channel.Turn.IsCompleted && !lifetime.IsCancellationRequested)
        {
            await Task.WhenAny(channel.Turn, Task.Delay(100, lifetime.Token));
            if (state.LastWritten != seen && !lifetime.IsCancellationRequested)
            {
                seen = state.LastWritten;
                await state.RestoreAsync(router, Log, lifetime.Token);
            }
        }
        if (!channel.Turn.IsCompletedSuccessfully)
        {
            Console.WriteLine($"router {Environment.ProcessId} stopping before its turn to serve alone{(channel.Lost.IsCancellationRequested ? ": its supervisor is gone" : "")}");
            return;
        }
        await state.RestoreAsync(router, Log, lifetime.Token);
        Console.WriteLine($"router {Environment.ProcessId}: serving {router.Endpoints.Count} endpoints on {bind}; admin API on {new IPEndPoint(bind, adminPort)}");
        var admin = await listeners.OpenAsync("admin", new IPEndPoint(IPAddress.Loopback, adminPort), lifetime.Token);
        var exporter = metrics is not null && IPEndPoint.TryParse(metrics, out var endpoint)
            ? MetricsListener.RunAsync(router, await listeners.OpenAsync("metrics", endpoint, lifetime.Token), Console.WriteLine, lifetime.Token)
            : Task.CompletedTask;
        await RouterAdmin.RunAsync(router, admin, secret, state, () => channel.SendAsync(new SupervisorRequest("reload")), lifetime.Token);
        await exporter;
        var why = channel.Lost.IsCancellationRequested && !stopping.IsCancellationRequested ? ": its supervisor is gone" : "";
        Console.WriteLine($"router {Environment.ProcessId} stopping{why}; finishing the requests in flight");
    }
}
