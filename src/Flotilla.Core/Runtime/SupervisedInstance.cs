namespace Flotilla.Runtime;

/// <summary>How an instance ended, as its runtime saw it: the exit code when known, and in words.</summary>
public sealed record InstanceExit(int? Code, string How);

/// <summary>
/// One instance under Flotilla's supervision, whatever runs it (a process, a container): its
/// probes, its state machine and how it ended. The runtime supplies the exit watch. Its status is
/// an immutable record replaced whole under a lock; readers take the current reference without locking.
/// </summary>
internal sealed class SupervisedInstance(InstanceLaunch launch, InstanceStatus initial, Action changed)
{
    private const int ReadyFailuresToUnready = 2;
    private const int HealthFailuresToUnhealthy = 3;
    // While an instance that requests wait on starts (InstanceLaunch.Awaited: a function's), a late probe
    // is time added to the cold start: probe it every 2 ms for the first second, when most programs become
    // ready, then every 25 ms until the start timeout, as every other instance.
    private static readonly TimeSpan TightProbe = TimeSpan.FromMilliseconds(2);
    private static readonly TimeSpan TightFor = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan FastProbe = TimeSpan.FromMilliseconds(25);
    private static readonly TimeSpan SteadyProbe = TimeSpan.FromSeconds(1);

    private readonly Lock _gate = new();
    private readonly CancellationTokenSource _stopping = new();
    private InstanceStatus _status = initial;

    public InstanceLaunch Launch { get; } = launch;
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

    /// <summary>Watches for the end (<paramref name="exit"/>, from the runtime) and probes the instance meanwhile.</summary>
    public void Supervise(Task<InstanceExit> exit, Prober prober, TimeProvider time)
    {
        Exited = WatchExitAsync(exit);
        _ = ProbeLoopAsync(prober, time, _stopping.Token);
    }

    private volatile bool _detached;

    /// <summary>Ends supervision without touching the instance: it keeps running for the next control plane.</summary>
    public void Detach()
    {
        _detached = true;
        _stopping.Cancel();
    }

    public bool IsDetached => _detached;

    /// <summary>Stops probing: a stopping instance must not flap back into rotation.</summary>
    public void BeginStop(string reason)
    {
        _stopping.Cancel();
        Update(s => s with { State = InstanceState.Stopping, StopRequested = true, Reason = reason });
    }

    private async Task WatchExitAsync(Task<InstanceExit> watch)
    {
        var exit = await watch;
        if (_detached)
        {
            return;
        }
        _stopping.Cancel();
        var stopping = Status.State == InstanceState.Stopping;
        Update(s => s with
        {
            State = InstanceState.Exited,
            ExitCode = exit.Code,
            Reason = stopping ? $"{s.Reason}; {exit.How}" : UnexpectedExit(s, exit.How),
        });
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
            var began = time.GetUtcNow();
            var deadline = began + Launch.StartTimeout;
            while (!await prober.ProbeAsync(Status.Host, Launch.Port, http.Ready ?? http.Health, cancellationToken))
            {
                _firstProbe.TrySetResult();
                if (time.GetUtcNow() > deadline)
                {
                    Update(s => s with { State = InstanceState.Unhealthy, Reason = $"not ready after {Model.Quantities.Format(Launch.StartTimeout)} (probe {http.Ready ?? http.Health ?? "tcp"} on port {Launch.Port})" });
                    return;
                }
                await Task.Delay(Launch.Awaited && time.GetUtcNow() - began < TightFor ? TightProbe : FastProbe, time, cancellationToken);
            }
            Update(s => s with { State = InstanceState.Ready, ReadySince = time.GetUtcNow(), WasReady = true, Reason = null });
            _firstProbe.TrySetResult();

            int readyFailures = 0, healthFailures = 0;
            while (true)
            {
                await Task.Delay(SteadyProbe, time, cancellationToken);
                if (http.Health is not null)
                {
                    healthFailures = await prober.ProbeAsync(Status.Host, Launch.Port, http.Health, cancellationToken) ? 0 : healthFailures + 1;
                    if (healthFailures >= HealthFailuresToUnhealthy)
                    {
                        Update(s => s with { State = InstanceState.Unhealthy, Reason = $"liveness probe {http.Health} failed {healthFailures} times in a row" });
                        return;
                    }
                }
                var ready = await prober.ProbeAsync(Status.Host, Launch.Port, http.Ready ?? http.Health, cancellationToken);
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
}
