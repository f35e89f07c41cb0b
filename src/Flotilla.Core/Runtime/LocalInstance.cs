namespace Flotilla.Runtime;

/// <summary>
/// One running process and its supervision (exit watch, probes). Its status is an immutable
/// record replaced whole under a lock; readers take the current reference without locking.
/// </summary>
internal sealed class LocalInstance(InstanceLaunch launch, InstanceStatus initial, string workingDirectory, Action changed, Func<string?> afterExit)
{
    private const int ReadyFailuresToUnready = 2;
    private const int HealthFailuresToUnhealthy = 3;
    private static readonly TimeSpan FastProbe = TimeSpan.FromMilliseconds(25);
    private static readonly TimeSpan SteadyProbe = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stopping = new();
    private InstanceStatus _status = initial;

    public InstanceLaunch Launch { get; } = launch;
    public string WorkingDirectory { get; } = workingDirectory;
    public InstanceStatus Status => Volatile.Read(ref _status);
    public Task Exited { get; private set; } = Task.CompletedTask;

    public void Update(Func<InstanceStatus, InstanceStatus> change)
    {
        lock (_gate)
        {
            var next = change(_status);
            if (next == _status || _status.State == InstanceState.Exited)
            {
                return;
            }
            Volatile.Write(ref _status, next);
        }
        changed();
    }

    /// <summary>Completes after the first probe, so an adopted instance is not routed around while it is still serving.</summary>
    public Task FirstProbe => _firstProbe.Task;

    private readonly TaskCompletionSource _firstProbe = new(TaskCreationOptions.RunContinuationsAsynchronously);

    /// <summary>Watches the process and probes it. An adopted process is not our child: no exit status, only its end.</summary>
    public void Attach(int pid, Prober prober, TimeProvider time, bool adopted = false)
    {
        Exited = WatchExitAsync(pid, adopted ? Status.ProcessStartTime : null, adopted);
        _ = ProbeLoopAsync(prober, time, _stopping.Token);
    }

    private volatile bool _detached;

    /// <summary>Ends supervision without touching the process: it keeps running for the next control plane.</summary>
    public void Detach()
    {
        _detached = true;
        _stopping.Cancel();
    }

    /// <summary>Stops probing: a stopping instance must not flap back into rotation.</summary>
    public void BeginStop(string reason)
    {
        _stopping.Cancel();
        Update(s => s with { State = InstanceState.Stopping, StopRequested = true, Reason = reason });
    }

    private async Task WatchExitAsync(int pid, long? startTime, bool adopted)
    {
        // One blocked thread per instance: waitpid (a pidfd for adopted ones) wakes it the moment the process ends.
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
        if (_detached)
        {
            return;
        }
        _stopping.Cancel();
        int? code = status is { } s ? PosixSpawn.ExitCode(s) : null;
        // Children that outlive the leader would leak; the group still exists while any member lives.
        Posix.SignalGroup(pid, Posix.SIGKILL);
        var stopping = Status.State == InstanceState.Stopping;
        var how = code is null ? (adopted ? "exited (adopted from an earlier control plane: exit status not available)" : "exited (status unavailable)") : code > 128 ? $"killed by {Posix.SignalName(code.Value - 128)}" : $"exited with code {code}";
        if (afterExit() is { } cause)
        {
            how = $"{how} ({cause})";
        }
        Update(s => s with
        {
            State = InstanceState.Exited,
            ExitCode = code,
            Reason = stopping ? $"{s.Reason}; {how}" : UnexpectedExit(s, how),
        });
        TryDelete(WorkingDirectory);
    }

    private static string UnexpectedExit(InstanceStatus status, string how)
    {
        var tail = LogTail.ProgramLines(status.LogPath);
        return tail.Length == 0 ? how : $"{how}; last log lines: {tail}";
    }

    private async Task ProbeLoopAsync(Prober prober, TimeProvider time, CancellationToken cancellationToken)
    {
        try
        {
            var http = Launch.Http;
            var deadline = time.GetUtcNow() + Launch.StartTimeout;
            while (!await prober.ProbeAsync(Launch.Port, http.Ready ?? http.Health, cancellationToken))
            {
                _firstProbe.TrySetResult();
                if (time.GetUtcNow() > deadline)
                {
                    Update(s => s with { State = InstanceState.Unhealthy, Reason = $"not ready after {Model.Quantities.Format(Launch.StartTimeout)} (probe {http.Ready ?? http.Health ?? "tcp"} on port {Launch.Port})" });
                    return;
                }
                await Task.Delay(FastProbe, time, cancellationToken);
            }
            Update(s => s with { State = InstanceState.Ready, ReadySince = time.GetUtcNow(), WasReady = true, Reason = null });
            _firstProbe.TrySetResult();

            int readyFailures = 0, healthFailures = 0;
            while (true)
            {
                await Task.Delay(SteadyProbe, time, cancellationToken);
                if (http.Health is not null)
                {
                    healthFailures = await prober.ProbeAsync(Launch.Port, http.Health, cancellationToken) ? 0 : healthFailures + 1;
                    if (healthFailures >= HealthFailuresToUnhealthy)
                    {
                        Update(s => s with { State = InstanceState.Unhealthy, Reason = $"liveness probe {http.Health} failed {healthFailures} times in a row" });
                        return;
                    }
                }
                var ready = await prober.ProbeAsync(Launch.Port, http.Ready ?? http.Health, cancellationToken);
                readyFailures = ready ? 0 : readyFailures + 1;
                if (ready)
                {
                    Update(s => s.State == InstanceState.Unready ? s with { State = InstanceState.Ready, ReadySince = time.GetUtcNow(), Reason = null } : s);
                }
                else if (readyFailures >= ReadyFailuresToUnready)
                {
                    Update(s => s.State == InstanceState.Ready ? s with { State = InstanceState.Unready, Reason = $"readiness probe {http.Ready ?? http.Health ?? "tcp"} failing" } : s);
                }
            }
        }
        catch (OperationCanceledException)
        {
            // The instance is stopping or has exited.
        }
        finally
        {
            _firstProbe.TrySetResult();
        }
    }

    internal static void TryDelete(string directory)
    {
        try
        {
            if (Directory.Exists(directory))
            {
                Directory.Delete(directory, recursive: true);
            }
        }
        catch (IOException)
        {
        }
        catch (UnauthorizedAccessException)
        {
        }
    }
}
