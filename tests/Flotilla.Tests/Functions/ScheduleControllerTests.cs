using System.Text.Json.Nodes;
using Flotilla.Controllers.InstanceSets;
using Flotilla.Controllers.Schedules;
using Flotilla.Events;
using Flotilla.Model;
using Flotilla.Store;
using Flotilla.Tests.Support;
using Microsoft.Extensions.Time.Testing;

namespace Flotilla.Tests.Functions;

/// <summary>The schedule controller over a real SQLite store under fake time: runs enqueued once, a restart after an outage catches up once, Forbid, Allow, Replace.</summary>
public sealed class ScheduleControllerTests : IDisposable
{
    private static readonly DateTimeOffset T0 = new(2026, 12, 5, 12, 0, 30, TimeSpan.Zero);
    private readonly TempDirectory _dir = new();
    private readonly FakeTimeProvider _time = new(T0);
    private readonly StateStore _store;
    private readonly EventLog _events;
    private int _wakes;

    public ScheduleControllerTests()
    {
        _store = StateStore.Open(_dir.Path);
        _events = new EventLog(_time);
    }

    public void Dispose()
    {
        _store.Dispose();
        _dir.Dispose();
    }

    private readonly List<long> _stopped = [];

    private static DesiredService Function(string cron, ConcurrencyPolicy policy) =>
        new("report", "rev1", 0, ["app"], new Dictionary<string, string>(), new HttpSpec(null, null, null), TimeoutsSpec.Default, RestartSpec.Default, [],
            Function: new FunctionSpec(new FunctionTrigger(null) { Schedule = new ScheduleTrigger(cron, Concurrency: policy) }, FunctionScale.Default, FunctionSpec.DefaultTimeout, FunctionHold.Default));

    private ScheduleController Controller(string cron = "* * * * *", ConcurrencyPolicy policy = ConcurrencyPolicy.Forbid) =>
        new(_store, () => [Function(cron, policy)], () => _wakes++, _stopped.AddRange, _events, _time);

    /// <summary>Takes every message of the schedule's queue and answers it (the function ran).</summary>
    private List<JsonObject> Deliver()
    {
        var runs = _store.Lease("report.schedule", 100, _time.GetUtcNow(), _time.GetUtcNow().AddMinutes(1));
        foreach (var run in runs)
        {
            Assert.True(_store.Acknowledge(run.Id, run.Token!));
        }
        return [.. runs.Select(r => JsonNode.Parse(r.Body)!.AsObject())];
    }

    [Fact]
    public void EachOccurrence_IsEnqueuedOnce_HowEverOftenItLooks()
    {
        var controller = Controller();
        controller.Look();
        Assert.Empty(Deliver());
        for (var i = 0; i < 4; i++)
        {
            _time.Advance(TimeSpan.FromSeconds(15));
            controller.Look();
            controller.Look();
        }
        // 12:01:00 passed once.
        var run = Assert.Single(Deliver());
        Assert.Equal("2026-12-05T12:01:00Z", (string)run["scheduledAt"]!);
        Assert.Equal(0, (int)run["missed"]!);
        Assert.Equal(1, _wakes);
        Assert.Equal(new DateTimeOffset(2026, 12, 5, 12, 2, 0, TimeSpan.Zero), controller.Statuses["report"].Next);
        Assert.Equal(new DateTimeOffset(2026, 12, 5, 12, 1, 0, TimeSpan.Zero), controller.Statuses["report"].LastRun);
    }

    [Fact]
    public void AControlPlaneBackAfterAnHour_RunsTheMissedOccurrencesOnce()
    {
        Controller().Look();
        // The control plane is down for an hour: a new controller (a new process) reads the cursor from the store.
        _time.Advance(TimeSpan.FromHours(1));
        var restarted = Controller();
        restarted.Look();
        restarted.Look();
        var run = Assert.Single(Deliver());
        Assert.Equal("2026-12-05T13:00:00Z", (string)run["scheduledAt"]!);
        Assert.Equal(59, (int)run["missed"]!);
        Assert.Contains(_events.Since(0), e => e.Subject == "report" && e.Message.Contains("59 earlier occurrences were missed", StringComparison.Ordinal));
    }

    [Fact]
    public void Forbid_AnUnfinishedRun_MakesTheNextOccurrenceSkipped_WithAWarning()
    {
        var controller = Controller();
        controller.Look();
        _time.Advance(TimeSpan.FromMinutes(1));
        controller.Look();
        // The run of 12:01 is leased and not answered (the function is slow) when 12:02 comes.
        var slow = Assert.Single(_store.Lease("report.schedule", 10, _time.GetUtcNow(), _time.GetUtcNow().AddMinutes(5)));
        _time.Advance(TimeSpan.FromMinutes(1));
        controller.Look();
        Assert.Equal(new DateTimeOffset(2026, 12, 5, 12, 2, 0, TimeSpan.Zero), controller.Statuses["report"].LastSkipped);
        Assert.Contains(_events.Since(0), e => e.Warning && e.Message.Contains("skipped the run of 2026-12-05 12:02:00Z: the previous run has not finished (concurrency policy Forbid)", StringComparison.Ordinal));
        Assert.True(_store.Acknowledge(slow.Id, slow.Token!));
        _time.Advance(TimeSpan.FromMinutes(1));
        controller.Look();
        Assert.Equal("2026-12-05T12:03:00Z", (string)Assert.Single(Deliver())["scheduledAt"]!);
    }

    [Fact]
    public void Allow_AnUnfinishedRun_DoesNotHoldTheNextOccurrenceBack()
    {
        var controller = Controller(policy: ConcurrencyPolicy.Allow);
        controller.Look();
        _time.Advance(TimeSpan.FromMinutes(1));
        controller.Look();
        var slow = Assert.Single(_store.Lease("report.schedule", 10, _time.GetUtcNow(), _time.GetUtcNow().AddMinutes(5)));
        _time.Advance(TimeSpan.FromMinutes(1));
        controller.Look();
        // Both runs are there: the slow one still in delivery, the new one due beside it.
        Assert.Equal("2026-12-05T12:02:00Z", (string)Assert.Single(Deliver())["scheduledAt"]!);
        Assert.True(_store.Acknowledge(slow.Id, slow.Token!));
        Assert.Null(controller.Statuses["report"].LastSkipped);
        Assert.Empty(_stopped);
    }

    [Fact]
    public void Replace_AnUnfinishedRun_IsStoppedAndSetAside_AndTheNewOneRuns()
    {
        var controller = Controller(policy: ConcurrencyPolicy.Replace);
        controller.Look();
        _time.Advance(TimeSpan.FromMinutes(1));
        controller.Look();
        var slow = Assert.Single(_store.Lease("report.schedule", 10, _time.GetUtcNow(), _time.GetUtcNow().AddMinutes(5)));
        _time.Advance(TimeSpan.FromMinutes(1));
        controller.Look();
        Assert.Equal([slow.Id], _stopped);
        var dead = Assert.Single(_store.DeadMessages("report.schedule", 10));
        Assert.Equal(slow.Id, dead.Id);
        Assert.Equal("replaced by the run of 2026-12-05 12:02:00Z (concurrency policy Replace)", dead.LastError);
        // The cut delivery's answer (if one still comes) settles nothing: its lease is gone.
        Assert.False(_store.Acknowledge(slow.Id, slow.Token!));
        Assert.Equal("2026-12-05T12:02:00Z", (string)Assert.Single(Deliver())["scheduledAt"]!);
        Assert.Contains(_events.Since(0), e => e.Message.Contains($"concurrency policy Replace) (stopped and set aside: message {slow.Id})", StringComparison.Ordinal));
    }
}
