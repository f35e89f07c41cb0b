using Flotilla.Model;

namespace Flotilla.Controllers.Schedules;

/// <summary>
/// Decides, with no I/O, whether a schedule runs now. The policy, in Kubernetes CronJob's words:
/// <list type="bullet">
/// <item>Catch-up: every occurrence after the cursor and up to now is due; all of them together
/// run once (the latest, with the count of the others), so a control plane that was down for an
/// hour runs a 5-minute schedule once when it is back, not twelve times.</item>
/// <item><c>startingDeadlineSeconds</c>: when given, a latest due occurrence older than it is
/// skipped instead (too late to matter).</item>
/// <item><c>concurrencyPolicy</c>, when the previous run is still waiting, in delivery or waiting
/// for a retry: <c>Forbid</c> (the default) skips the due occurrence, not queued behind it;
/// <c>Allow</c> runs it beside; <c>Replace</c> stops the unfinished run and runs the new one.</item>
/// </list>
/// The cursor starts at the first look (occurrences from before a schedule existed never run).
/// </summary>
public static class SchedulePlanner
{
    /// <summary>Past this many due occurrences the count is given as "at least".</summary>
    internal const int MaxCounted = 10_000;

    /// <param name="handledThrough">The cursor: occurrences up to it were fired or skipped (null: never looked at).</param>
    /// <param name="previousRunUnfinished">A run of this schedule is still waiting or in delivery.</param>
    public static SchedulePlan Plan(ScheduleTrigger schedule, DateTimeOffset? handledThrough, bool previousRunUnfinished, DateTimeOffset now)
    {
        var expression = schedule.Expression();
        var zone = schedule.Zone();
        DateTimeOffset? Next(DateTimeOffset after) => expression.GetNextOccurrence(after, zone);
        if (handledThrough is not { } cursor)
        {
            return new SchedulePlan(now, null, 0, null, Next(now), "first look: the schedule counts from now");
        }
        if (cursor > now)
        {
            // The clock went back (or another machine's store): never fire the same occurrences twice.
            return new SchedulePlan(null, null, 0, null, Next(cursor), null);
        }

        DateTimeOffset? latest = null;
        var due = 0;
        foreach (var occurrence in expression.GetOccurrences(cursor, now, zone, fromInclusive: false, toInclusive: true))
        {
            latest = occurrence;
            if (++due >= MaxCounted)
            {
                // A long outage of a frequent schedule: stop counting, find the latest in ever wider windows back from now.
                latest = Latest(expression, zone, occurrence, now);
                break;
            }
        }
        if (latest is not { } run)
        {
            return new SchedulePlan(null, null, 0, null, Next(now), null);
        }
        var missed = due - 1;
        if (schedule.StartingDeadline is { } deadline && now - run > deadline)
        {
            return new SchedulePlan(now, null, 0, run, Next(now),
                $"{Describe(run)} is {Seconds(now - run)} late, past its startingDeadline of {Seconds(deadline)}{Also(missed)}");
        }
        if (previousRunUnfinished && schedule.Concurrency == ConcurrencyPolicy.Forbid)
        {
            return new SchedulePlan(now, null, 0, run, Next(now), $"the previous run has not finished (concurrency policy Forbid){Also(missed)}");
        }
        var reasons = new[]
        {
            missed == 0 ? null : $"{(due >= MaxCounted ? "at least " : "")}{missed} earlier occurrences were missed (the control plane was down) and run once, as this one",
            !previousRunUnfinished ? null
                : schedule.Concurrency == ConcurrencyPolicy.Replace ? "the previous run had not finished: it is stopped (concurrency policy Replace)"
                : "the previous run has not finished: this one runs beside it (concurrency policy Allow)",
        }.OfType<string>().ToList();
        return new SchedulePlan(now, run, missed, null, Next(now), reasons.Count == 0 ? null : string.Join("; ", reasons),
            ReplacesUnfinished: previousRunUnfinished && schedule.Concurrency == ConcurrencyPolicy.Replace);
    }

    private static DateTimeOffset Latest(Cronos.CronExpression expression, TimeZoneInfo zone, DateTimeOffset known, DateTimeOffset now)
    {
        for (var window = TimeSpan.FromMinutes(1); now - window > known; window *= 2)
        {
            if (expression.GetOccurrences(now - window, now, zone, fromInclusive: false, toInclusive: true).LastOrDefault() is { } last && last != default)
            {
                return last;
            }
        }
        return expression.GetOccurrences(known, now, zone, fromInclusive: true, toInclusive: true).Last();
    }

    private static string Also(int missed) => missed == 0 ? "" : $" (with {missed} earlier missed occurrences)";

    private static string Describe(DateTimeOffset occurrence) => $"the run of {occurrence.UtcDateTime:yyyy-MM-dd HH:mm:ss}Z";

    private static string Seconds(TimeSpan span) => span.TotalSeconds < 120 ? $"{span.TotalSeconds:0} s" : $"{span.TotalMinutes:0} min";
}
