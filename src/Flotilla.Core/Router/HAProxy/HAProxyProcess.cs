using System.Diagnostics;
using Flotilla.Runtime;

namespace Flotilla.Router.HAProxy;

/// <summary>
/// The haproxy program in master-worker mode, daemonized so that it outlives the control plane
/// (as the embedded router's process does under <c>flotilla server</c>): its files live in
/// <see cref="Directory"/> (haproxy.cfg, haproxy.pid, the master CLI master.sock, the worker's
/// admin.sock). A reload goes through the master CLI: the new worker takes the listening sockets
/// from the old one (expose-fd listeners), which finishes its requests and exits.
/// </summary>
internal sealed class HAProxyProcess(string directory, string program)
{
    private static readonly TimeSpan Bounded = TimeSpan.FromSeconds(15);

    public string Directory { get; } = directory;
    public string ConfigPath => Path.Combine(Directory, "haproxy.cfg");
    public string PidPath => Path.Combine(Directory, "haproxy.pid");
    public string MasterSocket => Path.Combine(Directory, "master.sock");
    public string AdminSocket => Path.Combine(Directory, "admin.sock");

    /// <summary>The master's pid (read from haproxy.pid), or 0.</summary>
    public int MasterPid { get; private set; }

    private long? _startTime;

    public bool IsRunning => MasterPid > 0 && Posix.IsRunning(MasterPid, _startTime);

    /// <summary>Takes the master a previous control plane started when it still runs and answers; false otherwise.</summary>
    public async Task<bool> TryAdoptAsync(CancellationToken cancellationToken)
    {
        if (!File.Exists(PidPath) || !int.TryParse(File.ReadAllText(PidPath).Trim(), out var pid) || !Posix.IsRunning(pid, null))
        {
            return false;
        }
        try
        {
            await HAProxyCli.SendAsync(MasterSocket, "show proc", cancellationToken);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
        (MasterPid, _startTime) = (pid, Posix.StartTime(pid));
        return true;
    }

    /// <summary>Starts haproxy on the config written at <see cref="ConfigPath"/>; throws with haproxy's own words when it refuses.</summary>
    public async Task StartAsync(CancellationToken cancellationToken)
    {
        File.Delete(PidPath);
        var start = new ProcessStartInfo(program, ["-W", "-D", "-S", $"{MasterSocket},mode,600", "-f", ConfigPath, "-p", PidPath])
        {
            RedirectStandardError = true,
            RedirectStandardOutput = true,
            UseShellExecute = false,
        };
        using var process = Process.Start(start) ?? throw new InvalidOperationException($"cannot run {program}");
        var errors = process.StandardError.ReadToEndAsync(cancellationToken);
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        timeout.CancelAfter(Bounded);
        await process.WaitForExitAsync(timeout.Token);
        if (process.ExitCode != 0 || !File.Exists(PidPath))
        {
            var said = await errors.WaitAsync(TimeSpan.FromSeconds(1), cancellationToken);
            throw new InvalidOperationException($"haproxy refused to start (exit {process.ExitCode}): {said.Trim()} (config: {ConfigPath})");
        }
        var pid = await ReadMasterPidAsync(cancellationToken);
        (MasterPid, _startTime) = (pid, Posix.StartTime(pid));
        await WaitForWorkerAsync([], cancellationToken);
    }

    /// <summary>
    /// The pid the master writes to haproxy.pid. The daemonizing parent creates the file empty and
    /// exits; the master (its child) writes its pid a moment later, so an empty file means "not yet".
    /// </summary>
    private async Task<int> ReadMasterPidAsync(CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Bounded;
        while (true)
        {
            if (int.TryParse(File.ReadAllText(PidPath).Trim(), out var pid) && pid > 0)
            {
                return pid;
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"haproxy started but wrote no pid to {PidPath} within {Bounded.TotalSeconds} s (config: {ConfigPath})");
            }
            await Task.Delay(20, cancellationToken);
        }
    }

    /// <summary>A hitless reload on the config as now written: returns once a new worker serves.</summary>
    public async Task ReloadAsync(CancellationToken cancellationToken)
    {
        var before = await WorkersAsync(cancellationToken);
        try
        {
            await HAProxyCli.SendAsync(MasterSocket, "reload", cancellationToken);
        }
        catch (IOException)
        {
            // The master re-executes itself and may close the CLI before answering.
        }
        await WaitForWorkerAsync(before, cancellationToken);
    }

    /// <summary>The workers' pids, the current (never reloaded) one first.</summary>
    public async Task<IReadOnlyList<(int Pid, int Reloads)>> WorkersAsync(CancellationToken cancellationToken)
    {
        var text = await HAProxyCli.SendAsync(MasterSocket, "show proc", cancellationToken);
        return text.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
            .Where(f => f.Length >= 3 && f[1] == "worker" && int.TryParse(f[0], out _))
            .Select(f => (int.Parse(f[0]), int.TryParse(f[2], out var r) ? r : 0)).OrderBy(w => w.Item2).ToList();
    }

    /// <summary>
    /// <c>show stat</c> of each old worker (one a reload replaced, finishing its requests), asked
    /// through the master CLI (<c>@!pid</c>); a worker that has exited meanwhile is left out.
    /// </summary>
    public async Task<IReadOnlyList<Dictionary<(string Backend, string Server), ServerStats>>> OldWorkerStatsAsync(CancellationToken cancellationToken)
    {
        var result = new List<Dictionary<(string Backend, string Server), ServerStats>>();
        foreach (var (pid, _) in (await WorkersAsync(cancellationToken)).Where(w => w.Reloads > 0))
        {
            // "Can't find the target PID" when it exited since show proc: no line to parse, nothing it carries.
            result.Add(ServerStats.Parse(await HAProxyCli.SendAsync(MasterSocket, $"@!{pid} show stat", cancellationToken)));
        }
        return result;
    }

    private async Task WaitForWorkerAsync(IReadOnlyList<(int Pid, int Reloads)> before, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Bounded;
        while (true)
        {
            try
            {
                var workers = await WorkersAsync(cancellationToken);
                if (workers.Any(w => w.Reloads == 0 && before.All(b => b.Pid != w.Pid)))
                {
                    // The worker's own socket answers once it serves.
                    await HAProxyCli.SendAsync(AdminSocket, "show info", cancellationToken);
                    return;
                }
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"haproxy (master {MasterPid}) started no new worker within {Bounded.TotalSeconds} s; see {ConfigPath} and 'haproxy -c -f {ConfigPath}'");
            }
            await Task.Delay(50, cancellationToken);
        }
    }

    /// <summary>Stops the master and its workers (SIGTERM, then SIGKILL after a bounded wait).</summary>
    public async Task StopAsync()
    {
        if (!IsRunning)
        {
            return;
        }
        var workers = await SafeWorkersAsync();
        Posix.Signal(MasterPid, Posix.SIGTERM);
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(5);
        while (IsRunning && DateTime.UtcNow < deadline)
        {
            await Task.Delay(20);
        }
        if (IsRunning)
        {
            Posix.Signal(MasterPid, Posix.SIGKILL);
        }
        foreach (var (pid, _) in workers)
        {
            // Workers leave with their master; one that would not is not left behind.
            if (Posix.IsRunning(pid, null)) { Posix.Signal(pid, Posix.SIGKILL); }
        }
        MasterPid = 0;
    }

    private async Task<IReadOnlyList<(int Pid, int Reloads)>> SafeWorkersAsync()
    {
        try
        {
            return await WorkersAsync(CancellationToken.None);
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException)
        {
            return [];
        }
    }
}
