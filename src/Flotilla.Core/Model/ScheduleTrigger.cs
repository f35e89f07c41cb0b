using Cronos;

namespace Flotilla.Model;

/// <summary>
/// A function run on a cron schedule: <see cref="Cron"/> (five fields, or six with seconds first)
/// in <see cref="TimeZone"/> (an IANA id, UTC unless given). Each occurrence is delivered as a
/// queue message (at least once); a run still waiting or in delivery when the next occurrence is
/// due is handled by <see cref="Concurrency"/> (Kubernetes CronJob's <c>concurrencyPolicy</c>:
/// skipped by default), and occurrences missed while the control plane was down run once when it
/// is back, unless the latest is older than <see cref="StartingDeadline"/>.
/// </summary>
public sealed record ScheduleTrigger(string Cron, string TimeZone = "UTC", TimeSpan? StartingDeadline = null, ConcurrencyPolicy Concurrency = ConcurrencyPolicy.Forbid)
{
    /// <summary>Parses a cron expression: five fields as crontab, six when the first is seconds. Throws <see cref="CronFormatException"/>.</summary>
    public static CronExpression Parse(string cron) =>
        CronExpression.Parse(cron, cron.Split(' ', StringSplitOptions.RemoveEmptyEntries).Length == 6 ? CronFormat.IncludeSeconds : CronFormat.Standard);

    public CronExpression Expression() => Parse(Cron);

    public TimeZoneInfo Zone() => TimeZoneInfo.FindSystemTimeZoneById(TimeZone);
}
