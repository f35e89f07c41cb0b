using Flotilla.Runtime;

namespace Flotilla.Router.HAProxy;

/// <summary>
/// The haproxy program in master-worker mode, in a process group of its own so that it outlives the
/// control plane (as the embedded router's process does under <c>flotilla server</c>): its files live in
/// <see cref="Directory"/> (haproxy.cfg, haproxy.pid, haproxy.log, the master CLI master.sock, the worker's
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

    /// <summary>
    /// Masters replaced by a start beside them (an endpoint added or removed), soft-stopped and finishing their
    /// requests; each keeps its master CLI, renamed to master-PID.sock, so their workers' drains can be followed.
    /// </summary>
    private readonly List<(int Pid, long? StartTime, string Socket)> _retired = [];

    /// <summary>SIGUSR1: a master's soft stop (its workers stop accepting, finish their requests, then all exit).</summary>
    private const int SoftStop = 10;

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

    /// <summary>
    /// Starts haproxy on the config written at <see cref="ConfigPath"/>; throws with haproxy's own words when it refuses.
    /// Not daemonized (<c>-D</c> would call setsid): the master is spawned in Flotilla's own session, as the
    /// embedded router's process and the instances are (<see cref="PosixSpawn"/>), in a process group of its own
    /// so it outlives the control plane. A session of its own is a scheduler autogroup of its own, which on this
    /// 2-core machine cost a third of the throughput at saturation and a p99 of ~56 ms (bench/README.md).
    /// </summary>
    /// <param name="inherited">The endpoints' listening sockets, the master's descriptors 3, 4, ... (<c>bind fd@N</c>; <see cref="EndpointSockets"/>).</param>
    public async Task StartAsync(IReadOnlyList<int> inherited, CancellationToken cancellationToken)
    {
        File.Delete(PidPath);
        var env = Environment.GetEnvironmentVariables().Cast<System.Collections.DictionaryEntry>()
            .ToDictionary(e => (string)e.Key, e => (string?)e.Value ?? "", StringComparer.Ordinal);
        var resolved = CommandLine.Resolve(program, Environment.CurrentDirectory, env.GetValueOrDefault("PATH"))
            ?? throw new InvalidOperationException($"cannot run {program}: not found (searched PATH: {env.GetValueOrDefault("PATH")}); install HAProxy 2.6+ or run the server with '--router-engine yarp'");
        var log = LogPath;
        var from = File.Exists(log) ? new FileInfo(log).Length : 0;
        File.AppendAllText(log, $"--- {DateTimeOffset.UtcNow:O} flotilla: starting haproxy\n");
        var spawned = PosixSpawn.Start(resolved, ["-W", "-S", $"{MasterSocket},mode,600", "-f", ConfigPath, "-p", PidPath], env, Directory, log, inherited: inherited);
        // Reap it when it ends while we run (a refused config, or its worker killed): its end is seen, no zombie lingers.
        var exited = Task.Factory.StartNew(() => PosixSpawn.WaitForExit(spawned), CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        try
        {
            var pid = await ReadMasterPidAsync(exited, log, from, cancellationToken);
            (MasterPid, _startTime) = (pid, Posix.StartTime(pid));
            await WaitForWorkerAsync([], cancellationToken);
        }
        catch when (!exited.IsCompleted)
        {
            // No pid or no worker in time, or the start was cancelled: the master (and a worker) must not stay behind holding the ports.
            Posix.SignalGroup(spawned, Posix.SIGKILL);
            await exited.WaitAsync(Bounded, CancellationToken.None);
            MasterPid = 0;
            throw;
        }
    }

    /// <summary>
    /// A new master on the config as now written, beside the running one, which is then soft-stopped: the way to
    /// give HAProxy a set of sockets its running master did not inherit (a master keeps every descriptor it
    /// inherited, through reloads too, so a removed endpoint's socket is only closed with it). Both accept on the
    /// shared sockets until the old one stops; meanwhile new connections wait in the sockets' backlog, refused by
    /// none. When the new one does not start, the old one is left serving as it was.
    /// </summary>
    public async Task StartBesideAsync(IReadOnlyList<int> inherited, CancellationToken cancellationToken)
    {
        var (pid, startTime) = (MasterPid, _startTime);
        var master = Path.Combine(Directory, $"master-{pid}.sock");
        var admin = Path.Combine(Directory, $"admin-{pid}.sock");
        // The new master binds the usual paths; the old one stays reachable on its socket under another name.
        if (File.Exists(MasterSocket)) { File.Move(MasterSocket, master, overwrite: true); }
        if (File.Exists(AdminSocket)) { File.Move(AdminSocket, admin, overwrite: true); }
        try
        {
            await StartAsync(inherited, cancellationToken);
        }
        catch
        {
            if (File.Exists(master)) { File.Move(master, MasterSocket, overwrite: true); }
            if (File.Exists(admin)) { File.Move(admin, AdminSocket, overwrite: true); }
            File.WriteAllText(PidPath, $"{pid}\n");
            (MasterPid, _startTime) = (pid, startTime);
            throw;
        }
        _retired.Add((pid, startTime, master));
        // Only the master known here: a pid reused since (it ended meanwhile) is not signalled.
        if (Posix.IsRunning(pid, startTime)) { Posix.Signal(pid, SoftStop); }
    }

    /// <summary>
    /// The masters a previous control plane replaced beside a new one and left finishing their requests (their
    /// master-PID.sock): followed as this one's own, so that a drain waits for them and a stop stops them.
    /// </summary>
    public async Task FindRetiredAsync(CancellationToken cancellationToken)
    {
        var current = File.Exists(PidPath) && int.TryParse(File.ReadAllText(PidPath).Trim(), out var master) ? master : 0;
        foreach (var socket in System.IO.Directory.EnumerateFiles(Directory, "master-*.sock"))
        {
            var name = Path.GetFileNameWithoutExtension(socket);
            if (!int.TryParse(name["master-".Length..], out var pid) || _retired.Any(r => r.Pid == pid))
            {
                continue;
            }
            // A stale file names a pid that may be reused (even by another haproxy, or the current master):
            // only a master that answers on it, as that pid, is one this directory retired.
            if (pid != current && IsHAProxy(pid) && await AnswersAsMasterAsync(socket, pid, cancellationToken))
            {
                _retired.Add((pid, Posix.StartTime(pid), socket));
            }
            else
            {
                File.Delete(socket);
                File.Delete(Path.Combine(Directory, $"admin-{pid}.sock"));
            }
        }
        PruneRetired();
    }

    /// <summary>Whether the master CLI at <paramref name="socket"/> answers <c>show proc</c> naming <paramref name="pid"/> its master.</summary>
    private static async Task<bool> AnswersAsMasterAsync(string socket, int pid, CancellationToken cancellationToken)
    {
        try
        {
            var text = await HAProxyCli.SendAsync(socket, "show proc", cancellationToken);
            return text.Split('\n').Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries))
                .Any(f => f.Length >= 2 && f[1] == "master" && f[0] == pid.ToString(System.Globalization.CultureInfo.InvariantCulture));
        }
        catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException or OperationCanceledException && !cancellationToken.IsCancellationRequested)
        {
            return false;
        }
    }

    /// <summary>
    /// Soft-stops (again) every retired master still running: one a control plane that crashed during a start
    /// beside it had not yet stopped finishes its requests and exits too. Harmless when repeated.
    /// </summary>
    public void SoftStopRetired()
    {
        foreach (var (pid, startTime, _) in _retired)
        {
            if (Posix.IsRunning(pid, startTime)) { Posix.Signal(pid, SoftStop); }
        }
    }

    /// <summary>Whether the pid is (still) this program: a pid reused by another process is never signalled.</summary>
    private bool IsHAProxy(int pid)
    {
        try
        {
            var name = Path.GetFileName(program);
            return File.ReadAllText($"/proc/{pid}/comm").Trim() == name[..Math.Min(name.Length, 15)];
        }
        catch (IOException)
        {
            return false;
        }
    }

    /// <summary>
    /// Forgets the masters replaced by <see cref="StartBesideAsync"/> that have exited (deleting their sockets);
    /// returns those still finishing their requests.
    /// </summary>
    public IReadOnlyList<int> PruneRetired()
    {
        foreach (var gone in _retired.Where(r => !Posix.IsRunning(r.Pid, r.StartTime)).ToList())
        {
            _retired.Remove(gone);
            File.Delete(gone.Socket);
            File.Delete(Path.Combine(Directory, $"admin-{gone.Pid}.sock"));
        }
        return _retired.Select(r => r.Pid).ToList();
    }

    /// <summary>haproxy's own output (the master's notices and alerts), appended across starts.</summary>
    public string LogPath => Path.Combine(Directory, "haproxy.log");

    /// <summary>
    /// The pid the master writes to haproxy.pid once its config is loaded; the spawned process ending
    /// first means haproxy refused (its words are in its log since <paramref name="from"/>).
    /// </summary>
    private async Task<int> ReadMasterPidAsync(Task<int?> exited, string log, long from, CancellationToken cancellationToken)
    {
        var deadline = DateTime.UtcNow + Bounded;
        while (true)
        {
            if (File.Exists(PidPath) && int.TryParse(File.ReadAllText(PidPath).Trim(), out var pid) && pid > 0)
            {
                return pid;
            }
            if (exited.IsCompleted)
            {
                var code = await exited is { } status ? PosixSpawn.ExitCode(status) : -1;
                throw new InvalidOperationException($"haproxy refused to start (exit {code}): {Said(log, from)} (config: {ConfigPath})");
            }
            if (DateTime.UtcNow > deadline)
            {
                throw new InvalidOperationException($"haproxy started but wrote no pid to {PidPath} within {Bounded.TotalSeconds} s: {Said(log, from)} (config: {ConfigPath})");
            }
            await Task.Delay(20, cancellationToken);
        }
    }

    private static string Said(string log, long from)
    {
        using var stream = new FileStream(log, FileMode.Open, FileAccess.Read, FileShare.ReadWrite);
        stream.Seek(from, SeekOrigin.Begin);
        return new StreamReader(stream).ReadToEnd().Trim();
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
    public Task<IReadOnlyList<(int Pid, int Reloads)>> WorkersAsync(CancellationToken cancellationToken) => WorkersAsync(MasterSocket, cancellationToken);

    private static async Task<IReadOnlyList<(int Pid, int Reloads)>> WorkersAsync(string masterSocket, CancellationToken cancellationToken)
    {
        var text = await HAProxyCli.SendAsync(masterSocket, "show proc", cancellationToken);
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
        PruneRetired();
        foreach (var (_, _, socket) in _retired.ToList())
        {
            try
            {
                foreach (var (pid, _) in await WorkersAsync(socket, cancellationToken))
                {
                    result.Add(ServerStats.Parse(await HAProxyCli.SendAsync(socket, $"@!{pid} show stat", cancellationToken)));
                }
            }
            catch (Exception e) when (e is IOException or System.Net.Sockets.SocketException)
            {
                // It exited since: it carries nothing any more.
            }
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

    /// <summary>Stops the master and its workers (SIGTERM, then SIGKILL after a bounded wait), and the masters it replaced.</summary>
    public async Task StopAsync()
    {
        // Pruned first: a retired master that has exited may have its pid reused, by the leader of another group.
        PruneRetired();
        foreach (var (pid, startTime, _) in _retired.ToList())
        {
            if (Posix.IsRunning(pid, startTime))
            {
                // Its group: the master and the workers still finishing their requests.
                Posix.SignalGroup(pid, Posix.SIGKILL);
            }
            var until = DateTime.UtcNow + Bounded;
            while (Posix.IsRunning(pid, startTime) && DateTime.UtcNow < until)
            {
                await Task.Delay(20);
            }
        }
        PruneRetired();
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
