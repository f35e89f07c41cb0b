using Flotilla.Controllers.Functions;
using Flotilla.Model;
using Flotilla.Router.Functions;
using Microsoft.Extensions.Time.Testing;

namespace Flotilla.Tests.Functions;

/// <summary>The function autoscaler's decisions, by tables of demand over fake time (a look every half second, as the controller takes them).</summary>
public sealed class FunctionScalePlannerTests
{
    private static readonly TimeSpan Look = TimeSpan.FromMilliseconds(500);
    private static readonly FunctionScale Scale = new(0, 10, 10, TimeSpan.FromSeconds(60));

    private static FunctionDemand Demand(double concurrency, int held = 0, long? idleMs = null) =>
        new("fn", concurrency, (int)Math.Ceiling(concurrency) - held, held, 0, concurrency > 0 ? 0 : idleMs);

    /// <summary>Looks for <paramref name="duration"/> with demand from <paramref name="load"/> (seconds since start → demand); the count after each look.</summary>
    private static List<int> Run(FakeTimeProvider time, ref FunctionScaleState state, TimeSpan duration, Func<double, FunctionDemand> load, FunctionScale? scale = null)
    {
        var counts = new List<int>();
        var start = time.GetUtcNow();
        for (var at = TimeSpan.Zero; at < duration; at += Look)
        {
            time.Advance(Look);
            var decision = FunctionScalePlanner.Plan(scale ?? Scale, state, load((time.GetUtcNow() - start).TotalSeconds), time.GetUtcNow());
            state = decision.State;
            counts.Add(decision.Desired);
        }
        return counts;
    }

    public static TheoryData<string, double, int, int, int> SteadyLoads => new()
    {
        // name, requests at once, held, count before, count after
        { "a held request at zero starts one", 1, 1, 0, 1 },
        { "25 at once for 10 each needs 3", 25, 0, 0, 3 },
        { "exactly 20 needs 2, not 3", 20, 0, 0, 2 },
        { "a burst past max is capped", 500, 500, 0, 10 },
        { "one request keeps one", 1, 0, 1, 1 },
    };

    [Theory]
    [MemberData(nameof(SteadyLoads))]
    public void SteadyLoad_GivesTheCountItNeeds(string name, double concurrency, int held, int before, int after)
    {
        var time = new FakeTimeProvider();
        var state = FunctionScaleState.Initial(before, time.GetUtcNow());
        var counts = Run(time, ref state, TimeSpan.FromSeconds(90), _ => Demand(concurrency, held));
        Assert.True(after == counts[^1], $"{name}: ended at {counts[^1]}");
        Assert.Equal(after, counts[0]);
    }

    [Fact]
    public void IdleTimer_CountsFromTheLastRequest_NotFromScaleUp()
    {
        var time = new FakeTimeProvider();
        var state = FunctionScaleState.Initial(0, time.GetUtcNow());
        // Requests for 50 s, then none: the instance stays until 60 s after the last one (t = 110 s), then goes.
        var counts = Run(time, ref state, TimeSpan.FromSeconds(120), t => t <= 50 ? Demand(1) : Demand(0, idleMs: (long)((t - 50) * 1000)));
        int At(double seconds) => counts[(int)(seconds / Look.TotalSeconds) - 1];
        Assert.Equal(1, At(1));
        Assert.Equal(1, At(105));
        Assert.Equal(1, At(109.5));
        Assert.Equal(0, At(110.5));
        Assert.Equal(0, counts[^1]);
    }

    [Fact]
    public void ScaleMin_KeepsWarmInstances_AfterIdle()
    {
        var time = new FakeTimeProvider();
        var state = FunctionScaleState.Initial(2, time.GetUtcNow());
        var counts = Run(time, ref state, TimeSpan.FromSeconds(120), _ => Demand(0), Scale with { Min = 2 });
        Assert.All(counts, c => Assert.Equal(2, c));
    }

    [Fact]
    public void ALoadOnABoundary_DoesNotFlap()
    {
        var time = new FakeTimeProvider();
        var state = FunctionScaleState.Initial(1, time.GetUtcNow());
        // 10 requests at once for 10 per instance, with noise either side of the boundary, for ten minutes.
        var random = new Random(19);
        var counts = Run(time, ref state, TimeSpan.FromMinutes(10), _ => Demand(10 + (random.NextDouble() * 2 - 1)));
        var changes = counts.Zip(counts.Skip(1)).Count(p => p.First != p.Second);
        Assert.True(changes <= 1, $"the count changed {changes} times: {string.Join(",", counts.Distinct())}");
        Assert.All(counts, c => Assert.InRange(c, 1, 2));
    }

    [Fact]
    public void ABurst_ScalesUpAtOnce_InPanic_AndDoesNotScaleDownWhilePanicLasts()
    {
        var time = new FakeTimeProvider();
        var state = FunctionScaleState.Initial(1, time.GetUtcNow());
        // 5 at once for a minute (stable average fills), then 60 at once for 3 s, then 5 again.
        var counts = Run(time, ref state, TimeSpan.FromSeconds(120), t => t <= 60 ? Demand(5) : t <= 63 ? Demand(60) : Demand(5));
        int At(double seconds) => counts[(int)(seconds / Look.TotalSeconds) - 1];
        Assert.Equal(1, At(60));
        // The stable average alone would hardly have moved (5 → 7 at once): panic takes the short window's.
        Assert.True(At(61) >= 2, $"one second into the burst: {At(61)}");
        Assert.True(counts.Max() >= 4, $"at most {counts.Max()} during the burst");
        Assert.Equal(counts.Max(), At(100));
    }

    [Fact]
    public void LessDemand_ScalesDown_OnlyAfterTheScaleDownDelay()
    {
        var time = new FakeTimeProvider();
        var state = FunctionScaleState.Initial(0, time.GetUtcNow());
        var counts = Run(time, ref state, TimeSpan.FromSeconds(300), t => t <= 120 ? Demand(30) : Demand(5));
        int At(double seconds) => counts[(int)(seconds / Look.TotalSeconds) - 1];
        Assert.Equal(3, At(120));
        // The stable average falls below 20 after ~30 s of less demand; the count waits 30 s more.
        Assert.Equal(3, At(160));
        Assert.Equal(1, At(300));
        var down = counts.Skip(240).Zip(counts.Skip(241)).Count(p => p.First != p.Second);
        Assert.InRange(down, 1, 2);
    }

    [Fact]
    public void AdoptedInstances_AreKeptForTheTimeout_ThoughTheRouterSeesNoDemand_ThenScaleToZero()
    {
        // Two instances adopted after a control plane was killed: its deliveries may still run in them for up to the
        // 4 s timeout, and the router (their client gone) reports nothing in flight. Idle is 2 s.
        var time = new FakeTimeProvider();
        var scale = new FunctionScale(0, 2, 4, TimeSpan.FromSeconds(2));
        var state = FunctionScaleState.Initial(2, time.GetUtcNow(), TimeSpan.FromSeconds(4));
        var counts = Run(time, ref state, TimeSpan.FromSeconds(10), _ => Demand(0, idleMs: 60_000), scale);
        int At(double seconds) => counts[(int)(seconds / Look.TotalSeconds) - 1];
        Assert.All(counts.Take(7), c => Assert.Equal(2, c));
        Assert.Equal(0, At(4.5));
        Assert.Null(state.Kept);

        // Without the keep (the defect), the first look already stopped one and the idle time all of them, 2 s in.
        state = FunctionScaleState.Initial(2, time.GetUtcNow());
        counts = Run(time, ref state, TimeSpan.FromSeconds(3), _ => Demand(0, idleMs: 60_000), scale);
        Assert.Equal(1, counts[0]);
        Assert.Equal(0, counts[^1]);
    }

    [Fact]
    public void AdoptedInstances_AreKept_ButDemandCanStillScaleThemUp()
    {
        var time = new FakeTimeProvider();
        var scale = new FunctionScale(0, 4, 4, TimeSpan.FromSeconds(2));
        var state = FunctionScaleState.Initial(1, time.GetUtcNow(), TimeSpan.FromSeconds(30));
        var counts = Run(time, ref state, TimeSpan.FromSeconds(5), _ => Demand(16), scale);
        Assert.Equal(4, counts[^1]);
    }

    [Fact]
    public void AConvergedFunction_KeepsItsCount_LookAfterLook()
    {
        var time = new FakeTimeProvider();
        var state = FunctionScaleState.Initial(3, time.GetUtcNow());
        var counts = Run(time, ref state, TimeSpan.FromSeconds(120), _ => Demand(25));
        Assert.All(counts, c => Assert.Equal(3, c));
    }
}
