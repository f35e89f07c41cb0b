namespace Flotilla.Controllers.Schedules;

/// <summary>
/// What one look at a schedule decided. <see cref="HandledThrough"/> is the new cursor (null: leave
/// it); <see cref="Fire"/> the occurrence to run now (the latest due one), standing for
/// <see cref="Missed"/> earlier ones that will not run on their own; <see cref="Skipped"/> an
/// occurrence that was due but not run, with <see cref="Reason"/>. <see cref="Next"/> is the next
/// occurrence after now. <see cref="ReplacesUnfinished"/>: the unfinished runs are stopped and set
/// aside as the run is fired (concurrency policy Replace).
/// </summary>
public sealed record SchedulePlan(DateTimeOffset? HandledThrough, DateTimeOffset? Fire, int Missed, DateTimeOffset? Skipped, DateTimeOffset? Next, string? Reason, bool ReplacesUnfinished = false)
{
    public bool IsEmpty => HandledThrough is null && Fire is null && Skipped is null;
}
