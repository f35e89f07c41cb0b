using Flotilla.Controllers.InstanceSets;
using Flotilla.Events;
using Flotilla.Router;
using Flotilla.Router.Functions;

namespace Flotilla.Controllers.Functions;

/// <summary>
/// Keeps each function's instance count where its demand wants it. Level-triggered like the
/// instance-set controller: every look re-reads the declared functions and the router's demand,
/// plans with <see cref="FunctionScalePlanner"/>, and when a count changes hands the new counts to
/// the host (which publishes them to the instance-set controller, so a function's instances start,
/// drain and stop as any service's do). It looks twice a second, and at once when the router holds
/// a request for a function with no instance.
/// </summary>
/// <param name="functions">The functions declared now.</param>
/// <param name="changed">Called (off any lock) after <see cref="Counts"/> changed.</param>
public sealed class FunctionController(IRouter router, Func<IReadOnlyList<DesiredService>> functions, Action changed, EventLog events, TimeProvider? time = null) : IAsyncDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromMilliseconds(500);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly CancellationTokenSource _stop = new();
    private Dictionary<string, FunctionScaleState> _states = new(StringComparer.Ordinal);
    private IReadOnlyDictionary<string, int> _counts = new Dictionary<string, int>(StringComparer.Ordinal);
    private Task _loop = Task.CompletedTask;

    /// <summary>The count each function should run now (a function not listed runs its <c>scale.min</c>).</summary>
    public IReadOnlyDictionary<string, int> Counts => Volatile.Read(ref _counts);

    /// <summary>
    /// Before the first look: functions keep the instances a previous control plane left running (their idle timer starts
    /// now), and none is stopped before the function's timeout has passed: that control plane's queue deliveries may
    /// still run in them, and the router, whose client they were, no longer counts them.
    /// </summary>
    public void Adopt(IReadOnlyDictionary<string, int> running)
    {
        var now = _time.GetUtcNow();
        var timeouts = functions().Where(f => f.Function is not null).ToDictionary(f => f.Name, f => f.Function!.Timeout, StringComparer.Ordinal);
        _states = running.ToDictionary(r => r.Key, r => FunctionScaleState.Initial(r.Value, now, timeouts.GetValueOrDefault(r.Key)), StringComparer.Ordinal);
        Volatile.Write(ref _counts, running.ToDictionary(r => r.Key, r => r.Value, StringComparer.Ordinal));
    }

    public void Start() => _loop = Task.Run(() => RunAsync(_stop.Token));

    private async Task RunAsync(CancellationToken cancellationToken)
    {
        long sequence = 0;
        while (!cancellationToken.IsCancellationRequested)
        {
            try
            {
                var report = await router.WaitForDemandAsync(sequence, Tick, cancellationToken);
                sequence = report.Sequence;
                Look(report);
            }
            catch (OperationCanceledException) when (cancellationToken.IsCancellationRequested)
            {
                return;
            }
            catch (Exception e)
            {
                events.Record("functions", $"autoscaler look failed: {e.GetType().Name}: {e.Message}", warning: true);
                await Task.Delay(Tick, _time, cancellationToken).ContinueWith(_ => { }, TaskScheduler.Default);
            }
        }
    }

    /// <summary>One look: plan every declared function from its demand; publish when a count changed.</summary>
    internal void Look(DemandReport report)
    {
        var now = _time.GetUtcNow();
        var demand = report.Functions.ToDictionary(f => f.Function, StringComparer.Ordinal);
        var states = new Dictionary<string, FunctionScaleState>(StringComparer.Ordinal);
        var counts = new Dictionary<string, int>(StringComparer.Ordinal);
        var moved = false;
        foreach (var function in functions())
        {
            var spec = function.Function!;
            var state = _states.GetValueOrDefault(function.Name) ?? FunctionScaleState.Initial(spec.Scale.Min, now);
            var seen = demand.GetValueOrDefault(function.Name) ?? new FunctionDemand(function.Name, 0, 0, 0, 0, null);
            var decision = FunctionScalePlanner.Plan(spec.Scale, state, seen, now);
            states[function.Name] = decision.State;
            counts[function.Name] = decision.Desired;
            if (decision.Desired != Counts.GetValueOrDefault(function.Name, spec.Scale.Min))
            {
                moved = true;
                events.Record(function.Name, $"scaled {Counts.GetValueOrDefault(function.Name, spec.Scale.Min)} → {decision.Desired}: {decision.Reason}");
            }
        }
        _states = states;
        if (moved || counts.Count != Counts.Count)
        {
            Volatile.Write(ref _counts, counts);
            changed();
        }
    }

    public async ValueTask DisposeAsync()
    {
        // Twice on a full shutdown (the data plane's stop, then the host's dispose).
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }
        await _loop;
    }
}
