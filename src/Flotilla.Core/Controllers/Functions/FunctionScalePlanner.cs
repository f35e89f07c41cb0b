using Flotilla.Model;
using Flotilla.Router.Functions;

namespace Flotilla.Controllers.Functions;

/// <summary>
/// Decides how many instances a function runs, from its demand as the router saw it: a pure
/// function of the declared scale, the remembered state, one new sample and the time. Concurrency
/// based, as Knative's KPA: the count is the average requests-at-once divided by
/// <c>scale.concurrency</c>; see <see cref="ScaleWindows"/> for the windows.
/// </summary>
public static class FunctionScalePlanner
{
    public static ScaleDecision Plan(FunctionScale scale, FunctionScaleState state, FunctionDemand demand, DateTimeOffset now, ScaleWindows? windows = null)
    {
        var w = windows ?? ScaleWindows.Default;
        var samples = state.Samples.Where(s => s.At > now - w.Stable).Append(new DemandSample(now, demand.Concurrency)).ToList();
        var lastRequestAt = demand.IdleMilliseconds is { } idle ? Later(state.LastRequestAt, now - TimeSpan.FromMilliseconds(idle)) : state.LastRequestAt;
        var busy = demand.InFlight + demand.Held > 0 || demand.Concurrency > 0;
        if (busy)
        {
            lastRequestAt = now;
        }
        var stableWant = Want(samples, scale.Concurrency);
        var panicWant = Want(samples.Where(s => s.At > now - w.Panic), scale.Concurrency);
        var current = state.Desired;
        var panicUntil = state.PanicUntil is { } until && until > now ? until : (DateTimeOffset?)null;
        if (panicWant > 1 && panicWant >= 2 * Math.Max(current, 1))
        {
            panicUntil = now + w.Stable;
        }
        // In panic the count only grows: a burst is followed by more of it more often than not.
        var want = panicUntil is not null ? Math.Max(panicWant, current) : stableWant;
        // Down only to what would fit with room to spare, for all of the delay: a load on a boundary stays up.
        var keep = panicUntil is not null ? want : Want(samples, scale.Concurrency * (1 - DownTolerance));
        var wants = state.Wants.Where(x => x.At > now - w.ScaleDownDelay).Append(new WantSample(now, keep)).ToList();
        var desired = want > current ? want : Math.Min(current, wants.Max(x => x.Count));
        string reason;
        if (!busy && (lastRequestAt is not { } last || now - last >= scale.Idle))
        {
            desired = 0;
            reason = lastRequestAt is null ? "no request yet" : $"no request for {scale.Idle.TotalSeconds:0.###} s";
        }
        else
        {
            // A held request needs an instance; one within the idle time keeps one warm.
            desired = Math.Max(desired, 1);
            reason = want > current
                ? $"{(panicUntil is not null ? "panic: " : "")}{(panicUntil is not null ? samples.Where(s => s.At > now - w.Panic) : samples).Average(s => s.Concurrency):0.##} requests at once for {scale.Concurrency} per instance"
                : $"demand fell to {want} instance{(want == 1 ? "" : "s")} for {w.ScaleDownDelay.TotalSeconds:0} s";
        }
        var clamped = Math.Clamp(desired, scale.Min, scale.Max);
        if (clamped != desired)
        {
            reason += clamped == scale.Max && desired > scale.Max ? $" (capped at scale.max {scale.Max})" : $" (kept at scale.min {scale.Min})";
        }
        var kept = state.Kept is { } k && now < k.Until ? k : null;
        if (kept is not null && clamped < Math.Min(kept.Count, scale.Max))
        {
            clamped = Math.Min(kept.Count, scale.Max);
            reason += $" (adopted instances kept until {kept.Until:HH:mm:ss}: the previous control plane's deliveries may still run in them)";
        }
        return new ScaleDecision(clamped, new FunctionScaleState(clamped, samples, wants, lastRequestAt, panicUntil, kept), reason);
    }

    /// <summary>Instances for an average load (a hair under a whole multiple is that multiple, not one more).</summary>
    /// <summary>How far below capacity demand must fall before a count is given up (Knative's KPA has no such band and flaps on a boundary).</summary>
    private const double DownTolerance = 0.1;

    private static int Want(IEnumerable<DemandSample> samples, double concurrency)
    {
        var list = samples.ToList();
        return list.Count == 0 ? 0 : (int)Math.Ceiling(list.Average(s => s.Concurrency) / concurrency - 1e-9);
    }

    private static DateTimeOffset Later(DateTimeOffset? a, DateTimeOffset b) => a > b ? a.Value : b;
}
