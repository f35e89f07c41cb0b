using Flotilla.Controllers.Schedules;
using Flotilla.Model;

namespace Flotilla.Tests.Functions;

/// <summary>The schedule planner's policy by table: catch-up once, Forbid, Allow, Replace, startingDeadline, time zones, a converged schedule.</summary>
public sealed class SchedulePlannerTests
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 12, 0, 0, TimeSpan.Zero);
    private static readonly ScheduleTrigger Every5 = new("*/5 * * * *");

    public static TheoryData<string, ScheduleTrigger, DateTimeOffset?, bool, DateTimeOffset, SchedulePlan> Cases => new()
    {
        { "first look: counts from now, runs nothing from before", Every5, null, false, T0.AddMinutes(2),
            new(T0.AddMinutes(2), null, 0, null, T0.AddMinutes(5), "first look: the schedule counts from now") },
        { "nothing due yet: an empty plan", Every5, T0, false, T0.AddMinutes(4).AddSeconds(59),
            new(null, null, 0, null, T0.AddMinutes(5), null) },
        { "exactly on the occurrence: runs it", Every5, T0, false, T0.AddMinutes(5),
            new(T0.AddMinutes(5), T0.AddMinutes(5), 0, null, T0.AddMinutes(10), null) },
        { "a second late: still runs it", Every5, T0, false, T0.AddMinutes(5).AddSeconds(1),
            new(T0.AddMinutes(5).AddSeconds(1), T0.AddMinutes(5), 0, null, T0.AddMinutes(10), null) },
        { "down for an hour: the latest runs once, standing for 11 missed", Every5, T0, false, T0.AddMinutes(62),
            new(T0.AddMinutes(62), T0.AddMinutes(60), 11, null, T0.AddMinutes(65), "11 earlier occurrences were missed (the control plane was down) and run once, as this one") },
        { "Forbid: the previous run unfinished, the occurrence is skipped", Every5, T0, true, T0.AddMinutes(5),
            new(T0.AddMinutes(5), null, 0, T0.AddMinutes(5), T0.AddMinutes(10), "the previous run has not finished (concurrency policy Forbid)") },
        { "Forbid is the default", Every5 with { Concurrency = ConcurrencyPolicy.Forbid }, T0, true, T0.AddMinutes(5),
            new(T0.AddMinutes(5), null, 0, T0.AddMinutes(5), T0.AddMinutes(10), "the previous run has not finished (concurrency policy Forbid)") },
        { "Allow: the previous run unfinished, the occurrence runs beside it", Every5 with { Concurrency = ConcurrencyPolicy.Allow }, T0, true, T0.AddMinutes(5),
            new(T0.AddMinutes(5), T0.AddMinutes(5), 0, null, T0.AddMinutes(10), "the previous run has not finished: this one runs beside it (concurrency policy Allow)") },
        { "Allow: nothing unfinished, a plain run", Every5 with { Concurrency = ConcurrencyPolicy.Allow }, T0, false, T0.AddMinutes(5),
            new(T0.AddMinutes(5), T0.AddMinutes(5), 0, null, T0.AddMinutes(10), null) },
        { "Replace: the previous run unfinished, it is stopped and the occurrence runs", Every5 with { Concurrency = ConcurrencyPolicy.Replace }, T0, true, T0.AddMinutes(5),
            new(T0.AddMinutes(5), T0.AddMinutes(5), 0, null, T0.AddMinutes(10), "the previous run had not finished: it is stopped (concurrency policy Replace)", ReplacesUnfinished: true) },
        { "Replace: nothing unfinished, a plain run that replaces nothing", Every5 with { Concurrency = ConcurrencyPolicy.Replace }, T0, false, T0.AddMinutes(5),
            new(T0.AddMinutes(5), T0.AddMinutes(5), 0, null, T0.AddMinutes(10), null) },
        { "Replace after an outage: the latest runs once, missed counted, the unfinished one stopped", Every5 with { Concurrency = ConcurrencyPolicy.Replace }, T0, true, T0.AddMinutes(12),
            new(T0.AddMinutes(12), T0.AddMinutes(10), 1, null, T0.AddMinutes(15), "1 earlier occurrences were missed (the control plane was down) and run once, as this one; the previous run had not finished: it is stopped (concurrency policy Replace)", ReplacesUnfinished: true) },
        { "Replace: nothing due yet, the unfinished run is left alone", Every5 with { Concurrency = ConcurrencyPolicy.Replace }, T0, true, T0.AddMinutes(4),
            new(null, null, 0, null, T0.AddMinutes(5), null) },
        { "Replace past startingDeadline: skipped, nothing stopped", Every5 with { Concurrency = ConcurrencyPolicy.Replace, StartingDeadline = TimeSpan.FromMinutes(1) }, T0, true, T0.AddMinutes(62),
            new(T0.AddMinutes(62), null, 0, T0.AddMinutes(60), T0.AddMinutes(65), "the run of 2026-12-05 13:00:00Z is 2 min late, past its startingDeadline of 60 s (with 11 earlier missed occurrences)") },
        { "startingDeadline: too late after an outage, skipped", Every5 with { StartingDeadline = TimeSpan.FromMinutes(1) }, T0, false, T0.AddMinutes(62),
            new(T0.AddMinutes(62), null, 0, T0.AddMinutes(60), T0.AddMinutes(65), "the run of 2026-12-05 13:00:00Z is 2 min late, past its startingDeadline of 60 s (with 11 earlier missed occurrences)") },
        { "startingDeadline: within it, runs", Every5 with { StartingDeadline = TimeSpan.FromMinutes(3) }, T0, false, T0.AddMinutes(62),
            new(T0.AddMinutes(62), T0.AddMinutes(60), 11, null, T0.AddMinutes(65), "11 earlier occurrences were missed (the control plane was down) and run once, as this one") },
        { "time zone: 03:00 in Paris is 02:00Z in winter", new ScheduleTrigger("0 3 * * *", "Europe/Paris"), T0, false, T0.AddDays(1),
            new(T0.AddDays(1), new DateTimeOffset(2026, 12, 6, 2, 0, 0, TimeSpan.Zero), 0, null, new DateTimeOffset(2026, 12, 7, 2, 0, 0, TimeSpan.Zero), null) },
        { "the clock went back before the cursor: nothing runs twice", Every5, T0.AddMinutes(30), false, T0.AddMinutes(10),
            new(null, null, 0, null, T0.AddMinutes(35), null) },
        { "six fields: seconds", new ScheduleTrigger("*/10 * * * * *"), T0, false, T0.AddSeconds(25),
            new(T0.AddSeconds(25), T0.AddSeconds(20), 1, null, T0.AddSeconds(30), "1 earlier occurrences were missed (the control plane was down) and run once, as this one") },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Plan_FollowsThePolicy(string scenario, ScheduleTrigger schedule, DateTimeOffset? cursor, bool unfinished, DateTimeOffset now, SchedulePlan expected)
    {
        Assert.True(expected == SchedulePlanner.Plan(schedule, cursor, unfinished, now), $"{scenario}: got {SchedulePlanner.Plan(schedule, cursor, unfinished, now)}");
    }

    [Fact]
    public void AConvergedSchedule_PlansNothing_UntilItsNextOccurrence()
    {
        var fired = SchedulePlanner.Plan(Every5, T0, false, T0.AddMinutes(5));
        Assert.Equal(T0.AddMinutes(5), fired.Fire);
        Assert.True(SchedulePlanner.Plan(Every5, fired.HandledThrough, true, T0.AddMinutes(5)).IsEmpty);
        Assert.True(SchedulePlanner.Plan(Every5, fired.HandledThrough, false, T0.AddMinutes(9)).IsEmpty);
    }

    [Fact]
    public void AWeekDownWithASecondlySchedule_RunsOnce_WithTheLatestOccurrence_AndSaysAtLeast()
    {
        var clock = System.Diagnostics.Stopwatch.StartNew();
        var plan = SchedulePlanner.Plan(new ScheduleTrigger("* * * * * *"), T0, false, T0.AddDays(7).AddMilliseconds(500));
        Assert.Equal(T0.AddDays(7), plan.Fire);
        Assert.Equal(SchedulePlanner.MaxCounted - 1, plan.Missed);
        Assert.StartsWith("at least ", plan.Reason, StringComparison.Ordinal);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(5), $"took {clock.Elapsed}");
    }
}
