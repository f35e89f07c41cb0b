using System.Globalization;
using Flotilla.Net;
using Flotilla.Model;
using Flotilla.Runtime;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Runtime;

/// <summary>
/// What every runtime must do, the same checks for each (<see cref="LocalRuntimeContractTests"/>,
/// <see cref="DockerRuntimeContractTests"/>): start and become ready, stop with SIGTERM and its
/// grace, see a crash, be adopted by a restarted control plane, stop strays, enforce and report
/// a memory limit, explain a launch that cannot start. The instance is one small python program,
/// so it runs unchanged as a process and in the base image.
/// </summary>
public abstract class RuntimeContract : IAsyncLifetime
{
    protected static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);

    /// <summary>Answers /healthz; SIGTERM ends it with 0 unless IGNORE_TERM; ALLOC_MB allocates that much at start.</summary>
    private const string Program = """
        import http.server, os, signal, sys
        if os.environ.get('ALLOC_MB'):
            hog = b'x' * (int(os.environ['ALLOC_MB']) << 20)
        signal.signal(signal.SIGTERM, signal.SIG_IGN if os.environ.get('IGNORE_TERM') else (lambda *a: sys.exit(0)))
        class Handler(http.server.BaseHTTPRequestHandler):
            def do_GET(self):
                self.send_response(200); self.end_headers(); self.wfile.write(os.environ['FLOTILLA_INSTANCE'].encode())
            def log_message(self, *args):
                pass
        print('listening on', os.environ['PORT'], flush=True)
        http.server.HTTPServer(('127.0.0.1', int(os.environ['PORT'])), Handler).serve_forever()
        """;

    private readonly TempDirectory _state = new("flotilla-contract");
    private readonly List<IRuntime> _runtimes = [];

    protected RecordingJournal Journal { get; } = new();

    /// <summary>A runtime of this kind over <paramref name="stateDirectory"/> (the same directory: the same control plane, restarted).</summary>
    protected abstract IRuntime Create(string stateDirectory, IInstanceJournal journal);

    protected abstract string RuntimeName { get; }

    /// <summary>Kills the instance's process with SIGKILL from outside, as the OOM killer or an operator would.</summary>
    protected virtual void Kill(InstanceStatus status) => Assert.True(Posix.SignalGroup(status.Pid, Posix.SIGKILL));

    /// <summary>Whether a memory limit can be enforced here (local: cgroups).</summary>
    protected virtual string? LimitsUnavailable => null;

    protected IRuntime Runtime { get; private set; } = null!;

    public Task InitializeAsync()
    {
        Runtime = Track(Create(_state.Path, Journal));
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        foreach (var runtime in _runtimes)
        {
            await runtime.DisposeAsync();
        }
        // Strays of a failed test: a fresh runtime over the same state finds and stops them.
        await using (var sweeper = Create(_state.Path, NoJournal.Instance))
        {
            Assert.Empty(await sweeper.StopStraysAsync(TimeSpan.FromSeconds(5)));
        }
        _state.Dispose();
    }

    private IRuntime Track(IRuntime runtime)
    {
        _runtimes.Add(runtime);
        return runtime;
    }

    protected InstanceLaunch Launch(Dictionary<string, string>? env = null, ResourcesSpec? resources = null, IReadOnlyList<string>? command = null)
    {
        var port = PortAllocator.Next();
        var id = $"c-{Guid.NewGuid():N}"[..10];
        var all = new Dictionary<string, string>(env ?? [])
        {
            ["PORT"] = port.ToString(CultureInfo.InvariantCulture),
            ["FLOTILLA_INSTANCE"] = id,
        };
        return new InstanceLaunch(id, "svc", "rev1", command ?? ["python3", "-c", Program], all, port, new HttpSpec(null, "/healthz", "/healthz"), Wait, resources,
            Runtime: RuntimeName == RuntimeKind.Local ? null : RuntimeName);
    }

    protected static InstanceStatus Status(IRuntimeDriver runtime, string id) => runtime.Observe().Single(i => i.Id == id);

    protected static Task WaitFor(IRuntimeDriver runtime, string id, InstanceState state) =>
        Eventually.Until(() => Status(runtime, id).State == state, Wait, $"{id} to be {state} (is {Status(runtime, id).State}: {Status(runtime, id).Reason})");

    private static async Task<string?> Get(int port)
    {
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(5) };
        try
        {
            return await http.GetStringAsync($"http://127.0.0.1:{port}/");
        }
        catch (HttpRequestException)
        {
            return null;
        }
    }

    protected async Task Starts_BecomesReady_AndServesOnItsPort_WithItsOutputInTheLog()
    {
        var launch = Launch();
        Runtime.Start(launch);
        await WaitFor(Runtime, launch.Id, InstanceState.Ready);

        Assert.Equal(launch.Id, await Get(launch.Port));
        var status = Status(Runtime, launch.Id);
        Assert.True(status.Pid > 0);
        Assert.Equal(launch.Id, Journal.Started.Single().Id);
        await Eventually.Until(() => File.Exists(status.LogPath) && File.ReadAllText(status.LogPath).Contains($"listening on {launch.Port}", StringComparison.Ordinal),
            Wait, "the program's output in its log");
    }

    protected async Task Stop_SendsSigterm_AndTheProgramEndsCleanly()
    {
        var launch = Launch();
        Runtime.Start(launch);
        await WaitFor(Runtime, launch.Id, InstanceState.Ready);

        await Runtime.StopAsync(launch.Id, TimeSpan.FromSeconds(20), "test stop");
        var status = Status(Runtime, launch.Id);
        Assert.Equal(InstanceState.Exited, status.State);
        Assert.Equal(0, status.ExitCode);
        Assert.Equal("test stop; exited with code 0", status.Reason);
        Assert.Null(await Get(launch.Port));
        Assert.Empty(Journal.Live);
    }

    protected async Task Stop_KillsAfterTheGrace_WhenSigtermIsIgnored()
    {
        var launch = Launch(new() { ["IGNORE_TERM"] = "1" });
        Runtime.Start(launch);
        await WaitFor(Runtime, launch.Id, InstanceState.Ready);

        var clock = System.Diagnostics.Stopwatch.StartNew();
        await Runtime.StopAsync(launch.Id, TimeSpan.FromSeconds(1), "test stop");
        Assert.InRange(clock.Elapsed, TimeSpan.FromSeconds(0.9), TimeSpan.FromSeconds(30));
        var status = Status(Runtime, launch.Id);
        Assert.Equal(137, status.ExitCode);
        Assert.Contains("did not exit within 1s of SIGTERM, sent SIGKILL", status.Reason, StringComparison.Ordinal);
    }

    protected async Task Crash_IsSeen_WithTheSignal_AndNotAsAStop()
    {
        var launch = Launch();
        Runtime.Start(launch);
        await WaitFor(Runtime, launch.Id, InstanceState.Ready);

        Kill(Status(Runtime, launch.Id));
        await WaitFor(Runtime, launch.Id, InstanceState.Exited);
        var status = Status(Runtime, launch.Id);
        Assert.Equal(137, status.ExitCode);
        Assert.StartsWith("killed by SIGKILL", status.Reason, StringComparison.Ordinal);
        Assert.False(status.StopRequested);
        Runtime.Forget(launch.Id);
        Assert.DoesNotContain(Runtime.Observe(), i => i.Id == launch.Id);
    }

    protected async Task ARestartedControlPlane_AdoptsWhatRuns_WithoutAGap()
    {
        var launch = Launch();
        Runtime.Start(launch);
        await WaitFor(Runtime, launch.Id, InstanceState.Ready);
        var before = Status(Runtime, launch.Id);
        Runtime.LeaveRunningOnDispose();
        await Runtime.DisposeAsync();
        _runtimes.Remove(Runtime);
        Assert.Equal(launch.Id, await Get(launch.Port));

        var successor = Track(Create(_state.Path, Journal));
        var record = Journal.Live.Single();
        Assert.True(await successor.AdoptAsync(record.Launch, record.Pid, record.StartTime, record.StartedAt));
        var adopted = Status(successor, launch.Id);
        Assert.Equal(InstanceState.Ready, adopted.State);
        Assert.Equal(before.Pid, adopted.Pid);
        Assert.Empty(await successor.StopStraysAsync(TimeSpan.FromSeconds(5)));

        await successor.StopAsync(launch.Id, TimeSpan.FromSeconds(20), "test stop");
        // (An adopted local process is not the successor's child: its exit status cannot be had, only its end.)
        Assert.Equal(InstanceState.Exited, Status(successor, launch.Id).State);
        Assert.StartsWith("test stop; exited", Status(successor, launch.Id).Reason, StringComparison.Ordinal);
        Assert.False(await Create(_state.Path, NoJournal.Instance).AdoptAsync(launch, before.Pid, before.ProcessStartTime, before.StartedAt));
    }

    protected async Task Strays_NobodyRecorded_AreStopped()
    {
        var launch = Launch();
        Runtime.Start(launch);
        await WaitFor(Runtime, launch.Id, InstanceState.Ready);
        Runtime.LeaveRunningOnDispose();
        await Runtime.DisposeAsync();
        _runtimes.Remove(Runtime);

        var successor = Track(Create(_state.Path, NoJournal.Instance));
        var stopped = await successor.StopStraysAsync(TimeSpan.FromSeconds(5));
        Assert.Contains(launch.Id, Assert.Single(stopped), StringComparison.Ordinal);
        Assert.Null(await Get(launch.Port));
    }

    protected async Task MemoryLimit_IsEnforced_AndTheKillReportedAsOutOfMemory()
    {
        Assert.Null(LimitsUnavailable);
        var launch = Launch(new() { ["ALLOC_MB"] = "400" }, new ResourcesSpec(null, 64L << 20));
        Runtime.Start(launch);
        await WaitFor(Runtime, launch.Id, InstanceState.Exited);
        var status = Status(Runtime, launch.Id);
        Assert.Equal(137, status.ExitCode);
        Assert.Contains("out of memory: over its limit of 64Mi", status.Reason, StringComparison.Ordinal);
    }

    protected async Task ALaunchThatCannotStart_IsAnExitedInstance_WithTheReason()
    {
        var launch = Launch(command: ["no-such-program-flotilla"]);
        Runtime.Start(launch);
        await WaitFor(Runtime, launch.Id, InstanceState.Exited);
        Assert.Contains("no-such-program-flotilla", Status(Runtime, launch.Id).Reason, StringComparison.Ordinal);
    }

    /// <summary>The instance records a runtime keeps, as the control plane's store does, for adoption.</summary>
    protected sealed class RecordingJournal : IInstanceJournal
    {
        private readonly System.Collections.Concurrent.ConcurrentDictionary<string, Record> _live = new();

        public List<InstanceLaunch> Started { get; } = [];

        public IReadOnlyList<Record> Live => _live.Values.ToList();

        void IInstanceJournal.Started(InstanceLaunch launch, int pid, long? processStartTime, DateTimeOffset startedAt)
        {
            lock (Started)
            {
                Started.Add(launch);
            }
            _live[launch.Id] = new Record(launch, pid, processStartTime, startedAt);
        }

        void IInstanceJournal.Ended(string instanceId) => _live.TryRemove(instanceId, out _);

        public sealed record Record(InstanceLaunch Launch, int Pid, long? StartTime, DateTimeOffset StartedAt);
    }
}

/// <summary>The contract on local processes.</summary>
[Collection(ProcessHeavy.Name)]
public sealed class LocalRuntimeContractTests : RuntimeContract
{
    protected override string RuntimeName => RuntimeKind.Local;

    protected override IRuntime Create(string stateDirectory, IInstanceJournal journal) => new LocalProcessDriver(stateDirectory, journal);

    [Fact] public Task StartsAndServes() => Starts_BecomesReady_AndServesOnItsPort_WithItsOutputInTheLog();
    [Fact] public Task StopIsGraceful() => Stop_SendsSigterm_AndTheProgramEndsCleanly();
    [Fact] public Task StopKillsAfterGrace() => Stop_KillsAfterTheGrace_WhenSigtermIsIgnored();
    [Fact] public Task CrashIsSeen() => Crash_IsSeen_WithTheSignal_AndNotAsAStop();
    [Fact] public Task AdoptedAfterRestart() => ARestartedControlPlane_AdoptsWhatRuns_WithoutAGap();
    [Fact] public Task StraysStopped() => Strays_NobodyRecorded_AreStopped();
    [CgroupFact] public Task MemoryLimit() => MemoryLimit_IsEnforced_AndTheKillReportedAsOutOfMemory();
    [Fact] public Task BadLaunchExplained() => ALaunchThatCannotStart_IsAnExitedInstance_WithTheReason();
}

/// <summary>The contract on one Docker Engine (containers of the base image).</summary>
[Collection(ProcessHeavy.Name)]
public sealed class DockerRuntimeContractTests : RuntimeContract
{
    protected override string RuntimeName => RuntimeKind.Docker;

    protected override IRuntime Create(string stateDirectory, IInstanceJournal journal) => new Flotilla.Runtime.Docker.DockerDriver(stateDirectory, journal);

    /// <summary>The container's first process (tini, from the host's side): when it dies, the container ends.</summary>
    protected override void Kill(InstanceStatus status) => System.Diagnostics.Process.GetProcessById(status.Pid).Kill();

    [DockerFact] public Task StartsAndServes() => Starts_BecomesReady_AndServesOnItsPort_WithItsOutputInTheLog();
    [DockerFact] public Task StopIsGraceful() => Stop_SendsSigterm_AndTheProgramEndsCleanly();
    [DockerFact] public Task StopKillsAfterGrace() => Stop_KillsAfterTheGrace_WhenSigtermIsIgnored();
    [DockerFact] public Task CrashIsSeen() => Crash_IsSeen_WithTheSignal_AndNotAsAStop();
    [DockerFact] public Task AdoptedAfterRestart() => ARestartedControlPlane_AdoptsWhatRuns_WithoutAGap();
    [DockerFact] public Task StraysStopped() => Strays_NobodyRecorded_AreStopped();
    [DockerFact] public Task MemoryLimit() => MemoryLimit_IsEnforced_AndTheKillReportedAsOutOfMemory();
    [DockerFact] public Task BadLaunchExplained() => ALaunchThatCannotStart_IsAnExitedInstance_WithTheReason();
}
