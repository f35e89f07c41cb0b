namespace Flotilla.Controllers.Schedules;

/// <summary>Where a function's schedule stands, as <c>status</c> shows it: its next occurrence, and the last run and skip this control plane saw.</summary>
public sealed record ScheduleStatus(string Cron, string TimeZone, DateTimeOffset? Next, DateTimeOffset? LastRun, DateTimeOffset? LastSkipped, string? LastSkipReason);
