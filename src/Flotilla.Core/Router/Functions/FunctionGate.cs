using System.Diagnostics;

namespace Flotilla.Router.Functions;

/// <summary>
/// The demand side of one function's endpoint. It counts the requests the function has at once
/// (a time-weighted average between two looks of the control plane, as Knative's queue-proxy
/// reports it), and holds requests while no instance is ready: each held request waits for the
/// next table that has one, bounded in number and in time, as Knative's activator does.
/// </summary>
internal sealed class FunctionGate(Action held)
{
    private readonly Lock _lock = new();
    private TaskCompletionSource _ready = NewSignal(completed: false);
    private int _held;
    private int _concurrency;
    private int _inFlight;
    private long _requests;
    private double _weighted;
    private long _changedAt = Stopwatch.GetTimestamp();
    private long _windowStart = Stopwatch.GetTimestamp();
    private long _lastEnded;
    private long _coldSince;

    public SecondsHistogram HoldTimes { get; } = new();

    /// <summary>From the first request held at zero to the first table with a ready instance.</summary>
    public SecondsHistogram StartTimes { get; } = new();

    public int Held => Volatile.Read(ref _held);

    /// <summary>Told by every table swap whether the function has a ready instance now.</summary>
    public void SetReady(bool ready)
    {
        lock (_lock)
        {
            if (ready)
            {
                if (_coldSince != 0)
                {
                    StartTimes.Record(Stopwatch.GetElapsedTime(_coldSince));
                    _coldSince = 0;
                }
                _ready.TrySetResult();
            }
            else if (_ready.Task.IsCompleted)
            {
                _ready = NewSignal(completed: false);
            }
        }
    }

    /// <summary>A request arrives (held or not, it is demand from now until <see cref="Leave"/>).</summary>
    public void Enter()
    {
        lock (_lock)
        {
            Accumulate();
            _concurrency++;
            _requests++;
        }
    }

    public void Leave()
    {
        lock (_lock)
        {
            Accumulate();
            _concurrency--;
            _lastEnded = Stopwatch.GetTimestamp();
        }
    }

    /// <summary>The request is being forwarded to an instance (counted apart from held ones).</summary>
    public void Forwarding(int delta) => Interlocked.Add(ref _inFlight, delta);

    /// <summary>
    /// Holds a request until an instance is ready (<paramref name="hasInstance"/> is read after the
    /// signal is taken, so a table swapped in between is never missed), the budget is spent, or too
    /// many are held already.
    /// </summary>
    public async Task<HoldOutcome> HoldAsync(FunctionRoute route, Func<bool> hasInstance, CancellationToken aborted)
    {
        Task signal;
        lock (_lock)
        {
            signal = _ready.Task;
            if (signal.IsCompleted && !hasInstance())
            {
                // The completed signal is from before the table went empty again.
                _ready = NewSignal(completed: false);
                signal = _ready.Task;
            }
            if (hasInstance())
            {
                return HoldOutcome.Ready;
            }
            if (_held >= route.MaxPending)
            {
                return HoldOutcome.TooManyPending;
            }
            _held++;
            if (_coldSince == 0)
            {
                _coldSince = Stopwatch.GetTimestamp();
            }
        }
        var started = Stopwatch.GetTimestamp();
        held();
        try
        {
            await signal.WaitAsync(route.StartBudget, aborted);
            return HoldOutcome.Ready;
        }
        catch (TimeoutException)
        {
            return HoldOutcome.BudgetSpent;
        }
        finally
        {
            Interlocked.Decrement(ref _held);
            HoldTimes.Record(Stopwatch.GetElapsedTime(started));
        }
    }

    /// <summary>What was seen since the last call (one caller: the control plane's function autoscaler).</summary>
    public FunctionDemand Take(string function)
    {
        lock (_lock)
        {
            Accumulate();
            var now = Stopwatch.GetTimestamp();
            var window = Stopwatch.GetElapsedTime(_windowStart, now).TotalSeconds;
            // A look right after the last one (a cold request woke the control plane) reports what is there now.
            var average = window > 0.01 ? _weighted / window : _concurrency;
            _weighted = 0;
            _windowStart = now;
            long? idle = _concurrency > 0 ? 0 : _lastEnded == 0 ? null : (long)Stopwatch.GetElapsedTime(_lastEnded, now).TotalMilliseconds;
            return new FunctionDemand(function, average, Volatile.Read(ref _inFlight), _held, _requests, idle);
        }
    }

    private void Accumulate()
    {
        var now = Stopwatch.GetTimestamp();
        _weighted += _concurrency * Stopwatch.GetElapsedTime(_changedAt, now).TotalSeconds;
        _changedAt = now;
    }

    private static TaskCompletionSource NewSignal(bool completed)
    {
        var signal = new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously);
        if (completed)
        {
            signal.SetResult();
        }
        return signal;
    }
}
