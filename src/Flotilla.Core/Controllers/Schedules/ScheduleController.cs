using System.Text.Json;
using Flotilla.Controllers.InstanceSets;
using Flotilla.Events;
using Flotilla.Store;

namespace Flotilla.Controllers.Schedules;

/// <summary>
/// Runs functions' schedules. Level-triggered: every second it re-reads each scheduled function,
/// its cursor in the store and whether its previous run is unfinished, plans with
/// <see cref="SchedulePlanner"/>, and applies the plan in one store transaction (the run's message
/// enqueued and the cursor moved together), so an occurrence is enqueued exactly once even across
/// a crash. The run is then delivered by <see cref="Queues.QueueDelivery"/> like any queue message:
/// at least once, retried with back-off, dead after its attempts.
/// </summary>
/// <param name="functions">The functions declared now.</param>
/// <param name="wake">Wakes queue delivery after a run was enqueued.</param>
/// <param name="stop">Cuts the deliveries of runs a newer one replaced (concurrency policy Replace).</param>
public sealed class ScheduleController(StateStore store, Func<IReadOnlyList<DesiredService>> functions, Action wake, Action<IReadOnlyList<long>> stop, EventLog events, TimeProvider? time = null) : IAsyncDisposable
{
    private static readonly TimeSpan Tick = TimeSpan.FromSeconds(1);
    private readonly TimeProvider _time = time ?? TimeProvider.System;
    private readonly CancellationTokenSource _stop = new();
    private Dictionary<string, ScheduleStatus> _statuses = new(StringComparer.Ordinal);
    private Task _loop = Task.CompletedTask;

    /// <summary>Each scheduled function's schedule as of the last look.</summary>
    public IReadOnlyDictionary<string, ScheduleStatus> Statuses => Volatile.Read(ref _statuses);

    public void Start() => _loop = Task.Run(() => RecordedLoop.RunAsync(Look, Tick, _time, events, "schedules", "schedule look", _stop.Token));

    /// <summary>One look at every scheduled function.</summary>
    internal void Look()
    {
        var now = _time.GetUtcNow();
        var statuses = new Dictionary<string, ScheduleStatus>(StringComparer.Ordinal);
        foreach (var function in functions())
        {
            if (function.Function?.Trigger.Schedule is not { } schedule)
            {
                continue;
            }
            var queue = function.Function.Trigger.DeliveryQueue(function.Name)!;
            var plan = SchedulePlanner.Plan(schedule, store.ScheduleCursor(function.Name), store.Unfinished(queue) > 0, now);
            var previous = Statuses.GetValueOrDefault(function.Name);
            var status = new ScheduleStatus(schedule.Cron, schedule.TimeZone, plan.Next, previous?.LastRun, previous?.LastSkipped, previous?.LastSkipReason);
            if (plan.HandledThrough is { } through)
            {
                var run = plan.Fire is { } at ? (queue, Body(function.Name, schedule, at, plan.Missed)) : ((string, byte[])?)null;
                var replacing = plan.ReplacesUnfinished && plan.Fire is { } next ? $"replaced by the run of {next.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z (concurrency policy Replace)" : null;
                var (id, replaced) = store.AdvanceSchedule(function.Name, through, run, now, replacing);
                if (replaced.Count > 0)
                {
                    stop(replaced);
                }
                if (plan.Fire is { } fired)
                {
                    status = status with { LastRun = fired };
                    var stopped = replaced.Count == 0 ? "" : $" (stopped and set aside: message{(replaced.Count == 1 ? "" : "s")} {string.Join(", ", replaced)})";
                    events.Record(function.Name, $"schedule '{schedule.Cron}': run of {fired.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z queued as message {id} on {queue}{(plan.Reason is null ? "" : $"; {plan.Reason}")}{stopped}");
                    wake();
                }
                if (plan.Skipped is { } skipped)
                {
                    status = status with { LastSkipped = skipped, LastSkipReason = plan.Reason };
                    events.Record(function.Name, $"schedule '{schedule.Cron}': skipped the run of {skipped.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z: {plan.Reason}", warning: true);
                }
            }
            statuses[function.Name] = status;
        }
        Volatile.Write(ref _statuses, statuses);
    }

    /// <summary>What a scheduled run is POSTed: which occurrence it is and how many it stands for.</summary>
    private static byte[] Body(string function, Model.ScheduleTrigger schedule, DateTimeOffset occurrence, int missed) =>
        JsonSerializer.SerializeToUtf8Bytes(new Dictionary<string, object>
        {
            ["function"] = function,
            ["schedule"] = schedule.Cron,
            ["timeZone"] = schedule.TimeZone,
            ["scheduledAt"] = occurrence.UtcDateTime.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture),
            ["missed"] = missed,
        });

    public async ValueTask DisposeAsync()
    {
        if (!_stop.IsCancellationRequested)
        {
            await _stop.CancelAsync();
        }
        await _loop;
    }
}
