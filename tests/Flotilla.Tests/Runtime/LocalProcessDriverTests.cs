using Flotilla.Net;
using Flotilla.Model;
using Flotilla.Runtime;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Runtime;

/// <summary>The local driver against real processes: spawn, probe, crash, kill -9, stop with grace.</summary>
[Collection(ProcessHeavy.Name)]
public sealed class LocalProcessDriverTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly TempDirectory _state = new("flotilla-driver");
    private readonly TempDirectory _site = new("flotilla-site");
    private LocalProcessDriver _driver = null!;

    public Task InitializeAsync()
    {
        _driver = new LocalProcessDriver(_state.Path);
        _site.Write("healthz", "ok");
        _site.Write("ready", "ok");
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _driver.DisposeAsync();
        Assert.Empty(ProcessScan.Mentioning(_site.Path));
        _state.Dispose();
        _site.Dispose();
    }

    private InstanceLaunch Launch(IReadOnlyList<string> command, HttpSpec? http = null, TimeSpan? startTimeout = null, ResourcesSpec? resources = null)
    {
        var port = PortAllocator.Next();
        var id = $"t-{Guid.NewGuid():N}"[..10];
        var env = new Dictionary<string, string> { ["PORT"] = port.ToString(System.Globalization.CultureInfo.InvariantCulture), ["SITE"] = _site.Path };
        return new InstanceLaunch(id, "svc", "rev1", command, env, port, http ?? new HttpSpec(null, null, null), startTimeout ?? Wait, resources);
    }

    private InstanceLaunch HttpServer(HttpSpec? http = null) =>
        Launch(["python3", "-m", "http.server", "${PORT}", "--bind", "127.0.0.1", "--directory", "${SITE}"], http);

    private InstanceStatus Status(string id) => _driver.Observe().Single(i => i.Id == id);

    private Task WaitFor(string id, InstanceState state) =>
        Eventually.Until(() => Status(id).State == state, Wait, $"{id} to be {state} (is {Status(id).State}: {Status(id).Reason})");

    [Fact]
    public async Task Instance_RunsInItsOwnProcessGroup_WithItsPortAndLog_AndBecomesReady()
    {
        var launch = HttpServer();
        _driver.Start(launch);
        await WaitFor(launch.Id, InstanceState.Ready);

        var status = Status(launch.Id);
        var stat = File.ReadAllText($"/proc/{status.Pid}/stat");
        var pgid = int.Parse(stat[(stat.LastIndexOf(')') + 2)..].Split(' ')[2], System.Globalization.CultureInfo.InvariantCulture);
        Assert.Equal(status.Pid, pgid);
        Assert.Contains("python3", File.ReadAllText($"/proc/{status.Pid}/cmdline"), StringComparison.Ordinal);
        Assert.Equal(Path.Combine(_state.Path, "instances", launch.Id), Path.GetFullPath($"/proc/{status.Pid}/cwd", "/").Length > 0 ? new DirectoryInfo($"/proc/{status.Pid}/cwd").ResolveLinkTarget(true)!.FullName : "");
        Assert.Contains("flotilla: starting", await File.ReadAllTextAsync(status.LogPath), StringComparison.Ordinal);
        using var http = new HttpClient();
        Assert.Equal("ok", await http.GetStringAsync($"http://127.0.0.1:{launch.Port}/healthz"));
    }

    [Fact]
    public async Task KilledInstance_IsSeenExited_WithTheSignal()
    {
        var launch = HttpServer();
        _driver.Start(launch);
        await WaitFor(launch.Id, InstanceState.Ready);

        Assert.True(Posix.SignalGroup(Status(launch.Id).Pid, Posix.SIGKILL));
        await WaitFor(launch.Id, InstanceState.Exited);
        Assert.Equal(137, Status(launch.Id).ExitCode);
        Assert.StartsWith("killed by SIGKILL", Status(launch.Id).Reason, StringComparison.Ordinal);
        Assert.False(Status(launch.Id).StopRequested);
        Assert.False(Directory.Exists(Path.Combine(_state.Path, "instances", launch.Id)));
    }

    [Fact]
    public async Task CrashingInstance_ReportsExitCodeAndLastLogLines()
    {
        var launch = Launch(["sh", "-c", "echo 'config missing: DB_URL' >&2; exit 3"]);
        _driver.Start(launch);
        await WaitFor(launch.Id, InstanceState.Exited);

        var reason = Status(launch.Id).Reason!;
        Assert.Contains("exited with code 3", reason, StringComparison.Ordinal);
        Assert.Contains("config missing: DB_URL", reason, StringComparison.Ordinal);
    }

    [Fact]
    public void MissingCommand_IsReportedAtOnce_WithoutAProcess()
    {
        var launch = Launch(["no-such-program-flotilla", "--x"]);
        _driver.Start(launch);

        var status = Status(launch.Id);
        Assert.Equal(InstanceState.Exited, status.State);
        Assert.Equal(0, status.Pid);
        Assert.Contains("command 'no-such-program-flotilla' not found", status.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void UnknownVariableInCommand_IsReported()
    {
        var launch = Launch(["sh", "${NOT_SET_ANYWHERE}"]);
        _driver.Start(launch);
        Assert.Contains("${NOT_SET_ANYWHERE}", Status(launch.Id).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Stop_SendsSigtermToTheGroup_ThenSigkillAfterGrace_AndLeavesNoChild()
    {
        // The leader ignores SIGTERM and has a child; both must be gone after the stop.
        var launch = Launch(["sh", "-c", "trap '' TERM; sleep 300 & echo started; wait; sleep 300", "${SITE}"]);
        _driver.Start(launch);
        // "started" is logged after the trap is set and the child runs: a SIGTERM before that would end sh at once.
        await Eventually.Until(() => File.ReadAllText(Status(launch.Id).LogPath).Contains("\nstarted", StringComparison.Ordinal), Wait, "the child sleep");
        var pid = Status(launch.Id).Pid;
        // The child's command line is a plain "sleep 300": it is found by its process group (the leader's pid), not by a scan of command lines.
        // (Its command line reads empty while the forked shell is still exec'ing sleep: wait for it.)
        var child = 0;
        await Eventually.Until(() =>
        {
            var others = ProcessScan.InGroup(pid).Where(p => p != pid).ToList();
            child = others.Count == 1 && CommandLine(others[0]).Contains("sleep", StringComparison.Ordinal) ? others[0] : 0;
            return child != 0;
        }, Wait, "one child running sleep in the leader's group");

        try
        {
            var started = DateTime.UtcNow;
            await _driver.StopAsync(launch.Id, TimeSpan.FromMilliseconds(500), "test stop");

            Assert.Equal(InstanceState.Exited, Status(launch.Id).State);
            Assert.True(Status(launch.Id).StopRequested);
            Assert.True(Status(launch.Id).Reason?.Contains("sent SIGKILL", StringComparison.Ordinal), Status(launch.Id).Reason);
            Assert.True(DateTime.UtcNow - started >= TimeSpan.FromMilliseconds(450));
            await Eventually.Until(() => !Posix.IsAlive(pid) && !File.Exists($"/proc/{pid}/stat"), Wait, "the leader to be reaped");
            // The child is orphaned and reaped by init once killed: a zombie or nothing is left, never a live sleep.
            await Eventually.Until(() => ProcessScan.InGroup(pid).Count == 0, Wait, $"the child {child} to be gone (alive: {string.Join(", ", ProcessScan.InGroup(pid))})");
        }
        finally
        {
            // Should the driver leave the child, the test does not.
            Posix.SignalGroup(pid, Posix.SIGKILL);
        }
    }

    private static string CommandLine(int pid)
    {
        try
        {
            return File.ReadAllText($"/proc/{pid}/cmdline").Replace('\0', ' ');
        }
        catch (IOException)
        {
            return "";
        }
    }

    [Fact]
    public async Task GracefulProgram_ExitsOnSigterm_WithoutSigkill()
    {
        var launch = HttpServer();
        _driver.Start(launch);
        await WaitFor(launch.Id, InstanceState.Ready);

        await _driver.StopAsync(launch.Id, TimeSpan.FromSeconds(10), "test stop");
        Assert.Equal(InstanceState.Exited, Status(launch.Id).State);
        Assert.DoesNotContain("SIGKILL", Status(launch.Id).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task NeverReadyInstance_IsMarkedUnhealthy_AtItsStartDeadline()
    {
        var launch = Launch(["sleep", "60"], startTimeout: TimeSpan.FromMilliseconds(600));
        _driver.Start(launch);
        await WaitFor(launch.Id, InstanceState.Unhealthy);
        Assert.Contains("not ready after 600ms", Status(launch.Id).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task FailingReadiness_TakesItOutOfRotation_AndFailingLiveness_MarksItUnhealthy()
    {
        var launch = HttpServer(new HttpSpec(null, "/healthz", "/ready"));
        _driver.Start(launch);
        await WaitFor(launch.Id, InstanceState.Ready);

        File.Delete(Path.Combine(_site.Path, "ready"));
        await WaitFor(launch.Id, InstanceState.Unready);
        _site.Write("ready", "ok");
        await WaitFor(launch.Id, InstanceState.Ready);

        File.Delete(Path.Combine(_site.Path, "healthz"));
        await WaitFor(launch.Id, InstanceState.Unhealthy);
        Assert.Contains("liveness probe /healthz failed 3 times", Status(launch.Id).Reason, StringComparison.Ordinal);
    }

    [Fact]
    public async Task LogsOfExitedInstances_ArePruned_SoACrashLoopCannotFillTheDisk()
    {
        for (var i = 0; i < 30; i++)
        {
            var launch = Launch(["sh", "-c", "exit 1"]);
            _driver.Start(launch);
            await WaitFor(launch.Id, InstanceState.Exited);
            _driver.Forget(launch.Id);
        }
        var logs = Directory.GetFiles(Path.Combine(_state.Path, "logs", "svc"), "*.log");
        Assert.InRange(logs.Length, 20, 21);
    }

    /// <summary>The cgroup directory of a process for a v1 controller (or the v2 unified one).</summary>
    private static string CgroupDirectory(int pid, string controller)
    {
        var lines = File.ReadAllLines($"/proc/{pid}/cgroup").Select(l => l.Split(':', 3)).ToList();
        var v1 = lines.FirstOrDefault(p => p[1].Split(',').Contains(controller));
        return v1 is not null ? $"/sys/fs/cgroup/{controller}{v1[2]}" : $"/sys/fs/cgroup{lines.First(p => p[0] == "0")[2]}";
    }

    [CgroupFact]
    public async Task DeclaredResources_PutTheInstanceInItsOwnLimitedCgroup_RemovedWhenItStops()
    {
        Assert.Null(_driver.LimitsUnavailable);
        var launch = Launch(["sleep", "60"], resources: new ResourcesSpec(0.25, 128L << 20));
        _driver.Start(launch);
        var pid = Status(launch.Id).Pid;
        await Eventually.Until(() => CgroupDirectory(pid, "memory").EndsWith(launch.Id, StringComparison.Ordinal), Wait, "the process to be in its cgroup");

        var memory = CgroupDirectory(pid, "memory");
        var cpu = CgroupDirectory(pid, "cpu");
        var v2 = memory == cpu;
        Assert.Equal((128L << 20).ToString(System.Globalization.CultureInfo.InvariantCulture),
            File.ReadAllText(Path.Combine(memory, v2 ? "memory.max" : "memory.limit_in_bytes")).Trim());
        Assert.StartsWith("25000", File.ReadAllText(Path.Combine(cpu, v2 ? "cpu.max" : "cpu.cfs_quota_us")).Trim(), StringComparison.Ordinal);

        await _driver.StopAsync(launch.Id, TimeSpan.FromSeconds(5), "test stop");
        Assert.False(Directory.Exists(memory));
        Assert.False(Directory.Exists(cpu));
    }

    [CgroupFact]
    public async Task InstanceOverItsMemoryLimit_IsKilled_AndTheReasonSaysOutOfMemory()
    {
        Assert.Null(_driver.LimitsUnavailable);
        var launch = Launch(["python3", "-c", "import time; x = b'x' * (400 * 1024 * 1024); time.sleep(60)"], resources: new ResourcesSpec(null, 64L << 20));
        _driver.Start(launch);
        await WaitFor(launch.Id, InstanceState.Exited);

        var reason = Status(launch.Id).Reason!;
        Assert.Contains("killed by SIGKILL (out of memory: over its limit of 64Mi)", reason, StringComparison.Ordinal);
    }
}
