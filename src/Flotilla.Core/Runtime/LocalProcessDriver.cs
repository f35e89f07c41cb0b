using System.Collections.Concurrent;
using Flotilla.Isolation;

namespace Flotilla.Runtime;

/// <summary>
/// Runs each instance as its own local process: its own process group (so a stop reaches every
/// child), working directory, port, environment and log file. Output goes straight to the log
/// file, not through Flotilla, so instances do not depend on its pipes. With instance users (Flotilla
/// as root), each service's instances run as its own Unix user, and their directories, logs and
/// secret files are that user's alone: see <see cref="InstanceUsers"/>.
/// </summary>
public sealed class LocalProcessDriver : IRuntime
{
    private static readonly string[] InheritedConflicts = ["ASPNETCORE_URLS", "ASPNETCORE_HTTP_PORTS", "ASPNETCORE_HTTPS_PORTS", "DOTNET_URLS", "URLS", "HTTP_PORTS"];

    private readonly ConcurrentDictionary<string, SupervisedInstance> _instances = new();
    private readonly Prober _prober = new();
    private readonly Cgroups? _cgroups;
    private readonly TimeProvider _time;
    private readonly string _instancesDirectory;
    private readonly string _logsDirectory;
    private readonly IInstanceJournal _journal;
    private readonly InstanceUsers _users;
    private readonly SecretFiles _secretFiles;

    private readonly Func<Secrets.SecretRef, string>? _secrets;

    /// <param name="secrets">Resolves a secret's value when an instance starts (the control plane's secret store, or the file).</param>
    /// <param name="changed">Shared with the other runtimes of a control plane, so one wake-up covers them all.</param>
    /// <param name="users">Who instances run as (null: Flotilla's own user, as a driver alone in a test).</param>
    public LocalProcessDriver(string stateDirectory, IInstanceJournal? journal = null, TimeProvider? time = null, Func<Secrets.SecretRef, string>? secrets = null,
        WakeSignal? changed = null, InstanceUsers? users = null)
        : this(stateDirectory, SecretFiles.Default, journal, time, secrets, changed, users)
    {
    }

    /// <param name="secretFiles">Where secret files go (tests: a directory of their own); checked here, so a squatted one stops the driver.</param>
    internal LocalProcessDriver(string stateDirectory, SecretFiles secretFiles, IInstanceJournal? journal = null, TimeProvider? time = null,
        Func<Secrets.SecretRef, string>? secrets = null, WakeSignal? changed = null, InstanceUsers? users = null)
    {
        _users = users ?? InstanceUsers.Shared("a driver without instance users");
        _secretFiles = secretFiles;
        Changed = changed ?? new WakeSignal();
        _secrets = secrets;
        _time = time ?? TimeProvider.System;
        _journal = journal ?? NoJournal.Instance;
        _instancesDirectory = Path.Combine(stateDirectory, "instances");
        _logsDirectory = Path.Combine(stateDirectory, "logs");
        Directory.CreateDirectory(_instancesDirectory);
        Directory.CreateDirectory(_logsDirectory);
        if (_users.Off is null)
        {
            // Instance users pass through to their own directories, but cannot list anyone's.
            File.SetUnixFileMode(_instancesDirectory, FileOwnership.Traversable);
            File.SetUnixFileMode(_logsDirectory, FileOwnership.Traversable);
        }
        _secretFiles.Prepare(traversable: _users.Off is null);
        _cgroups = Cgroups.Detect(out var unavailable);
        LimitsUnavailable = unavailable;
    }

    /// <summary>Why CPU/memory limits cannot be enforced on this machine, or null when they can.</summary>
    public string? LimitsUnavailable { get; }

    public WakeSignal Changed { get; }

    public IReadOnlyList<InstanceStatus> Observe() => _instances.Values.Select(i => i.Status).ToList();

    public void Start(InstanceLaunch launch)
    {
        var workingDirectory = Path.Combine(_instancesDirectory, launch.Id);
        var logPath = Path.Combine(_logsDirectory, launch.Service, launch.Id + ".log");
        var initial = new InstanceStatus(launch.Id, launch.Service, launch.Revision, 0, null, launch.Port, InstanceState.Starting,
            _time.GetUtcNow(), null, false, false, null, null, logPath, launch.Zone);
        var instance = new SupervisedInstance(launch, initial, Changed.Set);
        _instances[launch.Id] = instance;
        try
        {
            var user = _users.For(launch.Service);
            Directory.CreateDirectory(workingDirectory);
            Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
            if (user is not null)
            {
                FileOwnership.Give(workingDirectory, user, FileOwnership.Private);
                // The logs stay root's (0700): the instance writes to the descriptor it inherits and needs no
                // right on the path. A directory of its own would let it swap its next log file for a symlink
                // that root then appends to and chmods.
                File.SetUnixFileMode(Path.GetDirectoryName(logPath)!, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
            }
            InstanceLogs.Prune(Path.GetDirectoryName(logPath)!, _instances.Keys);
            var pid = Spawn(launch, workingDirectory, logPath, _secrets, user, _users.Launcher, _secretFiles);
            var startTime = Posix.StartTime(pid);
            _journal.Started(launch, pid, startTime, initial.StartedAt);
            instance.Update(s => s with { Pid = pid, ProcessStartTime = startTime });
            if (launch.Resources is { } resources && _cgroups?.Apply(launch.Id, pid, resources) is { } limitError)
            {
                File.AppendAllText(logPath, $"flotilla: {limitError}\n");
            }
            instance.Supervise(WatchExitAsync(instance, pid, adopted: false, workingDirectory), _prober, _time);
        }
        catch (Exception e) when (e is InvalidOperationException or IOException or UnauthorizedAccessException)
        {
            instance.Update(s => s with { State = InstanceState.Exited, Reason = e.Message });
            Directories.TryDelete(workingDirectory);
        }
        Changed.Set();
    }

    private static int Spawn(InstanceLaunch launch, string workingDirectory, string logPath, Func<Secrets.SecretRef, string>? secrets, InstanceUser? user, string launcher, SecretFiles secretFiles)
    {
        var env = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (System.Collections.DictionaryEntry entry in Environment.GetEnvironmentVariables())
        {
            env[(string)entry.Key] = (string?)entry.Value ?? "";
        }
        foreach (var name in InheritedConflicts)
        {
            env.Remove(name);
        }
        if (user is not null)
        {
            // Flotilla's own HOME (root's) is closed to the user: the working directory is its private home.
            env["HOME"] = workingDirectory;
            env["USER"] = env["LOGNAME"] = user.Name;
        }
        foreach (var (name, value) in launch.Env)
        {
            env[name] = value;
        }
        // Secrets reach the process only: never the launch record, the command line or the log.
        foreach (var secret in launch.Secrets ?? [])
        {
            var value = (secrets ?? throw new InvalidOperationException($"secret {secret.Variable}: this driver has no secret store")).Invoke(secret);
            env[secret.Variable] = secret.AsFile ? secretFiles.Write(launch.Id, secret.Variable, value, user) : value;
        }
        var command = CommandLine.Expand(launch.Command, launch.Env);
        string? unreachable = null;
        if (user is not null && env.TryGetValue("PATH", out var inherited))
        {
            // Flotilla's PATH may name directories the user cannot enter (root's ~/.pyenv/shims): a program found
            // there would fail with "Permission denied", so the user's PATH leaves them out and finds the next one.
            var entries = inherited.Split(':', StringSplitOptions.RemoveEmptyEntries);
            env["PATH"] = string.Join(':', entries.Where(FileOwnership.ReachableByOthers));
            unreachable = string.Join(':', entries.Where(e => !FileOwnership.ReachableByOthers(e)));
        }
        env.TryGetValue("PATH", out var path);
        var program = CommandLine.Resolve(command[0], workingDirectory, path)
            ?? throw new InvalidOperationException($"command '{command[0]}' not found (searched PATH: {path})");
        File.AppendAllText(logPath, $"--- {DateTimeOffset.UtcNow:O} flotilla: starting {launch.Id} (revision {launch.Revision}) on port {launch.Port}{(user is null ? "" : $" as {user.Name}")}: {string.Join(' ', command)}\n");
        if (user is null)
        {
            return PosixSpawn.Start(program, command.Skip(1).ToList(), env, workingDirectory, logPath);
        }
        if (unreachable is { Length: > 0 })
        {
            File.AppendAllText(logPath, $"flotilla: left out of PATH, not reachable by {user.Name}: {unreachable}\n");
        }
        // posix_spawn sets the process group, opens the log and changes directory as root; setpriv then
        // drops to the user (real, effective and saved ids; no supplementary groups, so no capabilities)
        // and execs the program: same pid, same group, so Flotilla's signals and waitpid work as before.
        var inUser = new List<string> { "--reuid", user.Uid.ToString(System.Globalization.CultureInfo.InvariantCulture), "--regid", user.Gid.ToString(System.Globalization.CultureInfo.InvariantCulture), "--clear-groups", "--", program };
        return PosixSpawn.Start(launcher, [.. inUser, .. command.Skip(1)], env, workingDirectory, logPath);
    }

    /// <summary>
    /// Takes over an instance that an earlier control plane started, if that very process still
    /// runs (pid and kernel start time match); completes after its first probe, so it goes back
    /// into rotation without a gap. False when the process is gone.
    /// </summary>
    public async Task<bool> AdoptAsync(InstanceLaunch launch, int pid, long? processStartTime, DateTimeOffset startedAt)
    {
        if (!Posix.IsRunning(pid, processStartTime))
        {
            Directories.TryDelete(Path.Combine(_instancesDirectory, launch.Id));
            return false;
        }
        var logPath = Path.Combine(_logsDirectory, launch.Service, launch.Id + ".log");
        var initial = new InstanceStatus(launch.Id, launch.Service, launch.Revision, pid, processStartTime, launch.Port, InstanceState.Starting,
            startedAt, null, false, false, null, null, logPath, launch.Zone);
        var instance = new SupervisedInstance(launch, initial, Changed.Set);
        _instances[launch.Id] = instance;
        instance.Supervise(WatchExitAsync(instance, pid, adopted: true, Path.Combine(_instancesDirectory, launch.Id)), _prober, _time);
        await instance.FirstProbe;
        Changed.Set();
        return true;
    }

    /// <summary>
    /// Stops instance processes of this state directory that nobody recorded (a control plane
    /// killed between spawning and recording one); returns what it stopped.
    /// </summary>
    public async Task<IReadOnlyList<string>> StopStraysAsync(TimeSpan grace)
    {
        var known = _instances.Values.Select(i => i.Status.Pid).ToHashSet();
        var strays = StrayProcesses.Find(_instancesDirectory, known);
        await Task.WhenAll(strays.Select(async stray =>
        {
            var startTime = Posix.StartTime(stray.Pid);
            Posix.SignalGroup(stray.Pid, Posix.SIGTERM);
            var deadline = DateTime.UtcNow + grace;
            while (Posix.IsRunning(stray.Pid, startTime) && DateTime.UtcNow < deadline)
            {
                await Task.Delay(20);
            }
            Posix.SignalGroup(stray.Pid, Posix.SIGKILL);
            Directories.TryDelete(Path.Combine(_instancesDirectory, stray.InstanceId));
        }));
        return strays.Select(s => $"{s.InstanceId} (pid {s.Pid})").ToList();
    }

    /// <summary>
    /// Waits for the process to end: waitpid for our child (one blocked thread each: it wakes the
    /// moment the process ends), a pidfd for an adopted one, which is not our child (no exit status).
    /// Then kills what is left of its group, which would otherwise leak.
    /// </summary>
    private async Task<InstanceExit> WatchExitAsync(SupervisedInstance instance, int pid, bool adopted, string workingDirectory)
    {
        var startTime = instance.Status.ProcessStartTime;
        var status = await Task.Factory.StartNew(
            () =>
            {
                if (!adopted)
                {
                    return PosixSpawn.WaitForExit(pid);
                }
                Posix.WaitForExitOfAny(pid, startTime);
                return (int?)null;
            },
            CancellationToken.None, TaskCreationOptions.LongRunning, TaskScheduler.Default);
        if (instance.IsDetached)
        {
            return new InstanceExit(null, "detached");
        }
        Posix.SignalGroup(pid, Posix.SIGKILL);
        int? code = status is { } s ? PosixSpawn.ExitCode(s) : null;
        var how = code is null ? (adopted ? "exited (adopted from an earlier control plane: exit status not available)" : "exited (status unavailable)")
            : code > 128 ? $"killed by {Posix.SignalName(code.Value - 128)}" : $"exited with code {code}";
        if (AfterExit(instance.Launch) is { } cause)
        {
            how = $"{how} ({cause})";
        }
        Directories.TryDelete(workingDirectory);
        return new InstanceExit(code, how);
    }

    /// <summary>Removes the instance's record and cgroups; explains an exit the process could not (the OOM killer).</summary>
    private string? AfterExit(InstanceLaunch launch)
    {
        _journal.Ended(launch.Id);
        if (launch.Secrets is { Count: > 0 })
        {
            _secretFiles.Remove(launch.Id);
        }
        if (_cgroups is null || launch.Resources is null)
        {
            return null;
        }
        var oom = _cgroups.OutOfMemoryKilled(launch.Id);
        _cgroups.Remove(launch.Id);
        return oom ? $"out of memory: over its limit of {launch.Resources.MemoryBytes / (1024 * 1024)}Mi" : null;
    }

    public async Task StopAsync(string instanceId, TimeSpan grace, string reason)
    {
        if (!_instances.TryGetValue(instanceId, out var instance) || instance.Status.Pid == 0)
        {
            return;
        }
        instance.BeginStop(reason);
        var pid = instance.Status.Pid;
        Posix.SignalGroup(pid, Posix.SIGTERM);
        var exited = instance.Exited;
        if (await Task.WhenAny(exited, Task.Delay(grace, _time)) != exited)
        {
            instance.Update(s => s with { Reason = $"{reason}; did not exit within {Model.Quantities.Format(grace)} of SIGTERM, sent SIGKILL" });
            Posix.SignalGroup(pid, Posix.SIGKILL);
            await exited;
        }
    }

    public void Forget(string instanceId)
    {
        if (_instances.TryGetValue(instanceId, out var instance) && instance.Status.State == InstanceState.Exited)
        {
            _instances.TryRemove(instanceId, out _);
        }
    }

    private bool _leaveRunning;

    /// <summary>
    /// Makes disposal end supervision only: running instances keep running (the data plane
    /// outlives the control plane), and the next control plane adopts them.
    /// </summary>
    public void LeaveRunningOnDispose() => _leaveRunning = true;

    /// <summary>Stops every instance that is still running, in parallel, each with its own grace; or, after <see cref="LeaveRunningOnDispose"/>, leaves them.</summary>
    public async ValueTask DisposeAsync()
    {
        if (_leaveRunning)
        {
            foreach (var instance in _instances.Values)
            {
                instance.Detach();
            }
        }
        else
        {
            await Task.WhenAll(_instances.Values
                .Where(i => i.Status.State != InstanceState.Exited)
                .Select(i => StopAsync(i.Launch.Id, TimeSpan.FromSeconds(10), "driver shutting down")));
            _cgroups?.RemoveAll();
        }
        _prober.Dispose();
    }
}
