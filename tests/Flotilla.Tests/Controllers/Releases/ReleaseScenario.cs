using Flotilla.Controllers.InstanceSets;
using Flotilla.Controllers.Rollouts;
using Flotilla.Events;
using Flotilla.Model;
using Flotilla.Router.Metrics;
using Flotilla.Router.Mirror;
using Flotilla.Runtime;
using HdrHistogram;
using Microsoft.Extensions.Time.Testing;

namespace Flotilla.Tests.Controllers.Releases;

/// <summary>
/// The release controller alone, under fake time: the service "api" goes from revision v1 to v2
/// with a given rollout; the test says which instances are ready and what the router measured,
/// advances the clock, and reads the release's state. No process, socket or real clock.
/// </summary>
internal sealed class ReleaseScenario
{
    public static readonly DateTimeOffset T0 = new(2026, 11, 25, 12, 0, 0, TimeSpan.Zero);
    private int _ids;

    public ReleaseScenario(RolloutSpec rollout, int instances = 2)
    {
        Service = Desired("v2", instances, rollout);
        var stable = Desired("v1", instances, rollout);
        Events = new EventLog(Time);
        Controller = new ReleaseController((_, revision) => revision == "v1" ? stable : null, Saved.Add, Events, Time);
        Observed = [.. Enumerable.Range(0, instances).Select(_ => Instance("v1"))];
        Controller.Overlay([Service], Observed);
    }

    public FakeTimeProvider Time { get; } = new(T0);
    public EventLog Events { get; }
    public ReleaseController Controller { get; }
    public DesiredService Service { get; }
    public List<ReleaseState> Saved { get; } = [];

    /// <summary>The instances the controller sees; a test adds the new revision's as they become ready.</summary>
    public List<InstanceStatus> Observed { get; }

    public ReleaseState State => Controller.Get("api")!;

    public IReadOnlyList<string> Messages => [.. Events.Since(0).Select(e => e.Message)];

    public static DesiredService Desired(string revision, int instances, RolloutSpec rollout) =>
        new("api", revision, instances, ["app"], new Dictionary<string, string>(), new HttpSpec(null, null, null),
            TimeoutsSpec.Default, RestartSpec.Default, [], Rollout: rollout);

    public InstanceStatus Instance(string revision, InstanceState state = InstanceState.Ready) =>
        new($"api-{revision}-{++_ids}", "api", revision, 1000 + _ids, null, 5000 + _ids, state, Time.GetUtcNow(),
            state == InstanceState.Ready ? Time.GetUtcNow() : null, state == InstanceState.Ready, false, null, null, "/dev/null");

    /// <summary>Makes <paramref name="count"/> instances of <paramref name="revision"/> ready.</summary>
    public void Ready(string revision, int count)
    {
        for (var i = 0; i < count; i++)
        {
            Observed.Add(Instance(revision));
        }
    }

    /// <summary>What the router answers when asked for the parallel run's report (none by default).</summary>
    public ParallelReport? Report { get; set; }

    /// <summary>How many times the controller asked the router for a report.</summary>
    public int ReportReads { get; private set; }

    /// <summary>One look of the controller with what the router measured since the last one; the release's state after it.</summary>
    public async Task<ReleaseState> TickAsync(params RevisionInterval[] intervals)
    {
        await Controller.TickAsync([Service], Observed, intervals, _ =>
        {
            ReportReads++;
            return Task.FromResult(Report);
        }, CancellationToken.None);
        return State;
    }

    /// <summary>Looks once per simulated second for <paramref name="duration"/>; the state after the last look.</summary>
    public async Task<ReleaseState> RunForAsync(TimeSpan duration)
    {
        var end = Time.GetUtcNow() + duration;
        while (Time.GetUtcNow() < end)
        {
            Time.Advance(TimeSpan.FromSeconds(1));
            await TickAsync();
        }
        return State;
    }

    /// <summary>The desired state the instance-set controller and the router would be handed now.</summary>
    public DesiredService Overlaid => Controller.Overlay([Service], Observed).Single();

    /// <summary>What the router measured for one revision over an interval: 2xx and 5xx answers of 1 ms.</summary>
    public static RevisionInterval Interval(string revision, int ok, int errors = 0)
    {
        var latency = new LongHistogram(1, 600_000_000, 2);
        for (var i = 0; i < ok + errors; i++)
        {
            latency.RecordValue(1000);
        }
        return new RevisionInterval("api", revision, [0, ok, 0, 0, errors], latency);
    }

    public static Threshold? AtLeast(string percent) => Threshold.Parse($">= {percent}", true, out _);
}
