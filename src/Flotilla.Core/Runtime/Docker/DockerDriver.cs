using System.Collections.Concurrent;
using System.Security.Cryptography;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Flotilla.Runtime.Docker;

/// <summary>
/// Runs each instance as a container on one Docker Engine, supervised by Flotilla as a process is:
/// Flotilla's own probes, drain before stop, SIGTERM then SIGKILL after the grace, a replacement
/// when it dies (the engine's restart policy stays off: one supervisor, not two). Containers share
/// the host's network, so an instance listens on its own loopback port as a process does and
/// reaches other services through the same router endpoints. Labels name the control plane that
/// owns a container (a digest of its state directory), so a restarted one adopts its own and
/// stops strays, and never touches another's. Output is copied from the engine into the
/// instance's log file, so <c>flotilla logs</c> reads it as for a process.
/// </summary>
public sealed class DockerDriver : IRuntime
{
    internal const string OwnerLabel = "io.flotilla.owner";
    internal const string InstanceLabel = "io.flotilla.instance";
    private const string ServiceLabel = "io.flotilla.service";
    private const string RevisionLabel = "io.flotilla.revision";
    private const string WorkingDirectory = "/work";

    private readonly ConcurrentDictionary<string, Container> _instances = new();
    private readonly ConcurrentDictionary<string, Task> _removals = new();
    private readonly Prober _prober = new();
    private readonly TimeProvider _time;
    private readonly string _logsDirectory;
    private readonly IInstanceJournal _journal;
    private readonly Func<Secrets.SecretRef, string>? _secrets;
    private readonly string? _endpoint;
    private readonly SemaphoreSlim _connecting = new(1, 1);
    private DockerEngine? _engine;
    private readonly Isolation.InstanceUsers? _users;
    private bool _leaveRunning;

    public DockerDriver(string stateDirectory, IInstanceJournal? journal = null, TimeProvider? time = null, Func<Secrets.SecretRef, string>? secrets = null,
        WakeSignal? changed = null, string? endpoint = null, Isolation.InstanceUsers? users = null)
    {
        _users = users;
        Changed = changed ?? new WakeSignal();
        _time = time ?? TimeProvider.System;
        _journal = journal ?? NoJournal.Instance;
        _secrets = secrets;
        _endpoint = endpoint;
        _logsDirectory = Path.Combine(stateDirectory, "logs");
        Owner = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(Path.GetFullPath(stateDirectory))))[..12];
    }

    /// <summary>The label value that marks this control plane's containers.</summary>
    public string Owner { get; }

    public WakeSignal Changed { get; }

    /// <summary>The engine enforces CPU and memory limits itself.</summary>
    public string? LimitsUnavailable => null;

    public IReadOnlyList<InstanceStatus> Observe() => _instances.Values.Select(c => c.Instance.Status).ToList();

    /// <summary>The engine, connected on first use; a failed connection is tried again next time.</summary>
    public async Task<DockerEngine> EngineAsync(CancellationToken cancellationToken = default)
    {
        if (Volatile.Read(ref _engine) is { } engine)
        {
            return engine;
        }
        await _connecting.WaitAsync(cancellationToken);
        try
        {
            return _engine ??= await DockerEngine.ConnectAsync(_endpoint, cancellationToken);
        }
        finally
        {
            _connecting.Release();
        }
    }

    /// <summary>Makes sure the image an artifact runs in is in the engine (built now if not); throws <see cref="DockerUnavailableException"/>.</summary>
    public async Task PrepareAsync(string? image, string? artifactDirectory, string? digest, Action<string>? progress, CancellationToken cancellationToken)
    {
        var engine = await EngineAsync(cancellationToken);
        await new ContainerImages(engine).PrepareAsync(image, artifactDirectory, digest, "in the Docker Engine",
            $"build it there (docker build -t {image} .) or load it (docker load -i FILE)", progress, cancellationToken);
    }

    public void Start(InstanceLaunch launch)
    {
        var initial = new InstanceStatus(launch.Id, launch.Service, launch.Revision, 0, null, launch.Port, InstanceState.Starting,
            _time.GetUtcNow(), null, false, false, null, null, LogPath(launch), launch.Zone);
        var container = new Container(new SupervisedInstance(launch, initial, Changed.Set));
        _instances[launch.Id] = container;
        container.Launched = RunAsync(container);
        Changed.Set();
    }

    private string LogPath(InstanceLaunch launch) => Path.Combine(_logsDirectory, launch.Service, launch.Id + ".log");

    private string ContainerName(string instanceId) => $"flotilla-{Owner}-{instanceId}";

    /// <summary>The directory of a database's SQLite file when <paramref name="variable"/> is its connection string.</summary>
    internal static string? SqliteDirectory(string variable, string value)
    {
        if (!variable.StartsWith("ConnectionStrings__", StringComparison.Ordinal) || !value.StartsWith("Data Source=", StringComparison.OrdinalIgnoreCase))
        {
            return null;
        }
        var file = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(value).DataSource;
        return Path.IsPathFullyQualified(file) ? Path.GetDirectoryName(file) : null;
    }

    private async Task RunAsync(Container container)
    {
        var launch = container.Instance.Launch;
        var logPath = container.Instance.Status.LogPath;
        try
        {
            var engine = await EngineAsync();
            Directory.CreateDirectory(Path.GetDirectoryName(logPath)!);
            InstanceLogs.Prune(Path.GetDirectoryName(logPath)!, _instances.Keys);
            var artifact = launch.Env.GetValueOrDefault("ARTIFACT");
            var env = ContainerEnvironment(launch, artifact);
            var command = CommandLine.Expand(launch.Command, env).Select(a => InContainer(a, artifact)).ToList();
            var image = launch.Image ?? ContainerImages.For(artifact);
            await File.AppendAllTextAsync(logPath, $"--- {DateTimeOffset.UtcNow:O} flotilla: starting {launch.Id} (revision {launch.Revision}) on port {launch.Port} in a container of {image}: {string.Join(' ', command)}\n");
            var binds = new List<string>();
            var user = _users?.For(launch.Service);
            var sqlite = false;
            foreach (var secret in launch.Secrets ?? [])
            {
                var value = (_secrets ?? throw new InvalidOperationException($"secret {secret.Variable}: this driver has no secret store")).Invoke(secret);
                if (secret.AsFile)
                {
                    var path = SecretFiles.Default.Write(launch.Id, secret.Variable, value, user);
                    binds.Add($"{path}:{path}:ro");
                    env[secret.Variable] = path;
                }
                else
                {
                    env[secret.Variable] = value;
                    if (SqliteDirectory(secret.Variable, value) is { } directory)
                    {
                        // The service's SQLite file lives under the server's data directory; its directory (for WAL's
                        // side files too) is mounted at the same path, so the connection string holds in the container.
                        binds.Add($"{directory}:{directory}");
                        sqlite = true;
                    }
                }
            }
            var created = await engine.Client.Containers.CreateContainerAsync(new CreateContainerParameters
            {
                Name = ContainerName(launch.Id),
                Image = image,
                Cmd = command.Count == 0 ? null : command,
                Env = env.Select(e => $"{e.Key}={e.Value}").ToList(),
                WorkingDir = WorkingDirectory,
                // The mounted SQLite directory is the service's instance user's (0700): the container runs as that user,
                // as the service's local instances do, so what it writes there is theirs too. Other containers keep
                // the image's user (root in flotilla-base; kept apart by their namespaces, not by a Unix user).
                User = sqlite && user is not null ? FormattableString.Invariant($"{user.Uid}:{user.Gid}") : "",
                StopSignal = "SIGTERM",
                Labels = new Dictionary<string, string>
                {
                    [OwnerLabel] = Owner,
                    [InstanceLabel] = launch.Id,
                    [ServiceLabel] = launch.Service,
                    [RevisionLabel] = launch.Revision,
                },
                HostConfig = new HostConfig
                {
                    NetworkMode = "host",
                    // tini as PID 1: signals reach the program (a plain PID 1 ignores SIGTERM) and zombies are reaped.
                    Init = true,
                    Binds = binds,
                    Memory = launch.Resources?.MemoryBytes ?? 0,
                    MemorySwap = launch.Resources?.MemoryBytes ?? 0,
                    NanoCPUs = launch.Resources?.Cpu is { } cpu ? (long)(cpu * 1e9) : 0,
                    LogConfig = new LogConfig { Type = "json-file", Config = new Dictionary<string, string> { ["max-size"] = "10m", ["max-file"] = "1" } },
                },
            });
            container.Id = created.ID;
            await engine.Client.Containers.StartContainerAsync(created.ID, new ContainerStartParameters());
            var inspected = await engine.Client.Containers.InspectContainerAsync(created.ID);
            var pid = (int)(inspected.State?.Pid ?? 0);
            _journal.Started(launch, pid, null, container.Instance.Status.StartedAt);
            container.Instance.Update(s => s with { Pid = pid });
            Attach(engine, container, since: null);
        }
        catch (Exception e)
        {
            // A background start: whatever went wrong must show as this instance's end, never leave it starting.
            var reason = e is DockerApiException api ? $"the Docker Engine refused: {api.ResponseBody?.Trim()}" : e.Message;
            container.Instance.Update(s => s with { State = InstanceState.Exited, Reason = reason });
            await RemoveAsync(container.Id);
            SecretFiles.Default.Remove(launch.Id);
        }
    }

    /// <summary>The launch's environment as the container sees it: the artifact at <see cref="ContainerImages.ArtifactPath"/>.</summary>
    private static Dictionary<string, string> ContainerEnvironment(InstanceLaunch launch, string? artifact) =>
        launch.Env.ToDictionary(e => e.Key, e => InContainer(e.Value, artifact), StringComparer.Ordinal);

    private static string InContainer(string value, string? artifact) =>
        artifact is not null && value.StartsWith(artifact, StringComparison.Ordinal) ? ContainerImages.ArtifactPath + value[artifact.Length..] : value;

    /// <summary>Copies the container's output into the log file and supervises it until it ends.</summary>
    private void Attach(DockerEngine engine, Container container, DateTimeOffset? since)
    {
        var id = container.Id!;
        container.Logs = CopyLogsAsync(engine, id, container.Instance.Status.LogPath, since, container.Watching.Token);
        container.Instance.Supervise(WaitAsync(engine, container), _prober, _time);
    }

    private static async Task CopyLogsAsync(DockerEngine engine, string id, string logPath, DateTimeOffset? since, CancellationToken cancellationToken)
    {
        try
        {
            using var stream = await engine.Client.Containers.GetContainerLogsAsync(id, new ContainerLogsParameters
            {
                ShowStdout = true,
                ShowStderr = true,
                Follow = true,
                Since = since?.ToUnixTimeSeconds().ToString(System.Globalization.CultureInfo.InvariantCulture),
            }, cancellationToken);
            await using var log = new FileStream(logPath, FileMode.Append, FileAccess.Write, FileShare.ReadWrite | FileShare.Delete);
            var buffer = new byte[16 * 1024];
            while (true)
            {
                var read = await stream.ReadOutputAsync(buffer, 0, buffer.Length, cancellationToken);
                if (read.EOF)
                {
                    return;
                }
                await log.WriteAsync(buffer.AsMemory(0, read.Count), cancellationToken);
                await log.FlushAsync(cancellationToken);
            }
        }
        catch (Exception e) when (e is OperationCanceledException or DockerApiException or IOException or HttpRequestException)
        {
            // The container is gone or supervision ended; what was written stays.
        }
    }

    /// <summary>How long the engine may not answer about a running container before the instance counts as gone.</summary>
    private static readonly TimeSpan EngineSilence = TimeSpan.FromSeconds(15);

    private async Task<InstanceExit> WaitAsync(DockerEngine engine, Container container)
    {
        var id = container.Id!;
        var launch = container.Instance.Launch;
        var token = container.Watching.Token;
        long code;
        DateTimeOffset? silentSince = null;
        while (true)
        {
            try
            {
                code = (await engine.Client.Containers.WaitContainerAsync(id, token)).StatusCode;
                break;
            }
            catch (OperationCanceledException) when (token.IsCancellationRequested)
            {
                return new InstanceExit(null, "detached");
            }
            catch (Exception e) when (IsNotFound(e))
            {
                code = -1;
                break;
            }
            catch (Exception e) when (e is DockerApiException or HttpRequestException or IOException or OperationCanceledException)
            {
                // The engine restarting, or a connection lost: ask again, until it has been silent too long.
                silentSince ??= _time.GetUtcNow();
                if (_time.GetUtcNow() - silentSince > EngineSilence)
                {
                    await container.Watching.CancelAsync();
                    _journal.Ended(launch.Id);
                    return new InstanceExit(null, $"the Docker Engine at {engine.Endpoint} stopped answering about its container: {e.Message}");
                }
                await Task.Delay(TimeSpan.FromSeconds(1), _time, CancellationToken.None);
            }
        }
        // The last lines tell why it ended: let the copy reach the end of the output. Briefly after a kill (its
        // replacement waits on this); longer when the program itself failed, whose last words are the reason.
        var logWait = code is > 0 and <= 128 ? TimeSpan.FromSeconds(2) : TimeSpan.FromMilliseconds(250);
        await Task.WhenAny(container.Logs, Task.Delay(logWait, CancellationToken.None));
        var oom = false;
        try
        {
            oom = (await engine.Client.Containers.InspectContainerAsync(id)).State?.OOMKilled == true;
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or IOException)
        {
        }
        await container.Watching.CancelAsync();
        _journal.Ended(launch.Id);
        SecretFiles.Default.Remove(launch.Id);
        // Removal takes the engine a while: the exit is reported now (a replacement starts at once), the container goes after.
        var removal = RemoveAsync(id);
        _removals[id] = removal;
        _ = removal.ContinueWith(_ => _removals.TryRemove(id, out var _), TaskScheduler.Default);
        var how = code < 0 ? "the container is gone (removed behind Flotilla's back)"
            : code > 128 ? $"killed by {Posix.SignalName((int)code - 128)}" : $"exited with code {code}";
        if (oom)
        {
            how = $"{how} (out of memory: over its limit of {launch.Resources?.MemoryBytes / (1024 * 1024)}Mi)";
        }
        return new InstanceExit(code < 0 ? null : (int)code, how);
    }

    private static bool IsNotFound(Exception e) =>
        e is DockerContainerNotFoundException || e is DockerApiException { StatusCode: System.Net.HttpStatusCode.NotFound };

    private async Task RemoveAsync(string? id)
    {
        if (id is null || _engine is not { } engine)
        {
            return;
        }
        try
        {
            await engine.Client.Containers.RemoveContainerAsync(id, new ContainerRemoveParameters { Force = true });
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or IOException)
        {
        }
    }

    public async Task StopAsync(string instanceId, TimeSpan grace, string reason)
    {
        if (!_instances.TryGetValue(instanceId, out var container))
        {
            return;
        }
        await container.Launched;
        if (container.Id is not { } id || container.Instance.Status.State == InstanceState.Exited || _engine is not { } engine)
        {
            return;
        }
        container.Instance.BeginStop(reason);
        await SignalAsync(engine, id, "SIGTERM");
        var exited = container.Instance.Exited;
        if (await Task.WhenAny(exited, Task.Delay(grace, _time)) != exited)
        {
            container.Instance.Update(s => s with { Reason = $"{reason}; did not exit within {Model.Quantities.Format(grace)} of SIGTERM, sent SIGKILL" });
            await SignalAsync(engine, id, "SIGKILL");
            await exited;
        }
    }

    private static async Task SignalAsync(DockerEngine engine, string id, string signal)
    {
        try
        {
            await engine.Client.Containers.KillContainerAsync(id, new ContainerKillParameters { Signal = signal });
        }
        catch (Exception e) when (e is DockerApiException or HttpRequestException or IOException)
        {
            // Already stopped (its exit is on its way to the watch), or the engine is away (the watch gives up on it in time).
        }
    }

    public void Forget(string instanceId)
    {
        if (_instances.TryGetValue(instanceId, out var container) && container.Instance.Status.State == InstanceState.Exited)
        {
            _instances.TryRemove(instanceId, out _);
        }
    }

    public async Task<bool> AdoptAsync(InstanceLaunch launch, int pid, long? processStartTime, DateTimeOffset startedAt)
    {
        DockerEngine engine;
        ContainerInspectResponse found;
        try
        {
            engine = await EngineAsync();
            found = await engine.Client.Containers.InspectContainerAsync(ContainerName(launch.Id));
        }
        catch (Exception e) when (e is DockerApiException or DockerUnavailableException or HttpRequestException or IOException)
        {
            return false;
        }
        if (found.State?.Running != true || Label(found.Config?.Labels, OwnerLabel) != Owner)
        {
            await RemoveAsync(found.ID);
            return false;
        }
        var initial = new InstanceStatus(launch.Id, launch.Service, launch.Revision, (int)found.State.Pid, null, launch.Port, InstanceState.Starting,
            startedAt, null, false, false, null, null, LogPath(launch), launch.Zone);
        var container = new Container(new SupervisedInstance(launch, initial, Changed.Set)) { Id = found.ID };
        _instances[launch.Id] = container;
        // What it printed while no control plane copied it: from the log's last write on (whole seconds: a line may repeat, none is lost).
        var logPath = LogPath(launch);
        Attach(engine, container, since: File.Exists(logPath) ? File.GetLastWriteTimeUtc(logPath) : startedAt);
        await container.Instance.FirstProbe;
        Changed.Set();
        return true;
    }

    public async Task<IReadOnlyList<string>> StopStraysAsync(TimeSpan grace)
    {
        DockerEngine engine;
        IList<ContainerListResponse> mine;
        try
        {
            engine = await EngineAsync();
            mine = await ContainersAsync();
        }
        catch (Exception e) when (e is DockerApiException or DockerUnavailableException or HttpRequestException or IOException)
        {
            return [];
        }
        var strays = mine.Where(c => !_instances.ContainsKey(Label(c.Labels, InstanceLabel) ?? "")).ToList();
        await Task.WhenAll(strays.Select(async stray =>
        {
            try
            {
                await engine.Client.Containers.StopContainerAsync(stray.ID, new ContainerStopParameters { WaitBeforeKillSeconds = (uint)Math.Ceiling(grace.TotalSeconds) });
            }
            catch (DockerApiException)
            {
            }
            await RemoveAsync(stray.ID);
        }));
        return strays.Select(s => $"{Label(s.Labels, InstanceLabel)} (container {s.ID[..12]})").ToList();
    }

    private static string? Label(IDictionary<string, string>? labels, string name) => labels is not null && labels.TryGetValue(name, out var value) ? value : null;

    /// <summary>Every container of this control plane in the engine, running or not.</summary>
    public async Task<IList<ContainerListResponse>> ContainersAsync()
    {
        var engine = await EngineAsync();
        return await engine.Client.Containers.ListContainersAsync(new ContainersListParameters
        {
            All = true,
            Filters = new Dictionary<string, IDictionary<string, bool>> { ["label"] = new Dictionary<string, bool> { [$"{OwnerLabel}={Owner}"] = true } },
        });
    }

    public void LeaveRunningOnDispose() => _leaveRunning = true;

    public async ValueTask DisposeAsync()
    {
        if (_leaveRunning)
        {
            foreach (var container in _instances.Values)
            {
                container.Instance.Detach();
                await container.Watching.CancelAsync();
            }
        }
        else
        {
            await Task.WhenAll(_instances.Values
                .Where(c => c.Instance.Status.State != InstanceState.Exited)
                .Select(c => StopAsync(c.Instance.Launch.Id, TimeSpan.FromSeconds(10), "driver shutting down")));
        }
        await Task.WhenAll(_instances.Values.Select(c => c.Launched));
        await Task.WhenAll(_removals.Values);
        _prober.Dispose();
        _engine?.Dispose();
        _connecting.Dispose();
    }

    /// <summary>An instance and the container that runs it (null until the engine has created it).</summary>
    private sealed class Container(SupervisedInstance instance)
    {
        public SupervisedInstance Instance { get; } = instance;
        public string? Id { get; set; }
        public Task Launched { get; set; } = Task.CompletedTask;
        public Task Logs { get; set; } = Task.CompletedTask;

        /// <summary>Ends the log copy and the exit wait: when the container ends, or when supervision is handed on.</summary>
        public CancellationTokenSource Watching { get; } = new();
    }
}
