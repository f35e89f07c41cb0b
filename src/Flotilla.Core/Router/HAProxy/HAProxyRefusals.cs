using Flotilla.Model;

namespace Flotilla.Router.HAProxy;

/// <summary>
/// What the HAProxy engine does not do, refused at apply with the fix, rather than served
/// silently wrong: latency percentiles for analysis (HAProxy 2.6 keeps only averages),
/// header/cookie targeting and a sticky header, parallel runs (mirroring), flags (OFREP) and
/// functions (requests held at zero instances). Pure.
/// </summary>
internal static class HAProxyRefusals
{
    private const string Fix = "run the server with '--router-engine yarp' (the default), or remove it from the spec";

    public static string? Refuse(SystemSpec spec)
    {
        if (spec.Flags is not null)
        {
            return Refusal("this spec", "flags (OFREP) are served by the embedded router only");
        }
        foreach (var service in spec.Services)
        {
            var rollout = service.Rollout;
            var what = service.Function is not null ? "a function (requests held while it has no instance) needs the embedded router"
                : rollout.Match is { } match ? $"rollout targeting ({match}) is not done by this engine"
                : rollout.StickyHeader is not null ? $"a sticky header ({rollout.StickyHeader}) is not done by this engine"
                : rollout.Strategy == RolloutStrategy.Parallel || rollout.Steps.Any(s => s.Parallel is not null) ? "a parallel run mirrors requests, which this engine does not do"
                : Analyses(rollout).FirstOrDefault(NeedsLatency) is not null ? "an analysis on latency (p50/p95/p99, a p95 increase or a rank test) needs latency histograms; HAProxy 2.6 keeps only averages"
                : null;
            if (what is not null)
            {
                return Refusal($"service '{service.Name}'", what);
            }
        }
        return null;
    }

    private static string Refusal(string subject, string what) => $"{subject}: {what}; the router runs with --router-engine haproxy: {Fix}";

    private static IEnumerable<AnalysisSpec> Analyses(RolloutSpec rollout) =>
        rollout.Steps.Select(s => s.Analysis).Append(rollout.PrePromotionAnalysis).Append(rollout.PostPromotionAnalysis).OfType<AnalysisSpec>();

    private static bool NeedsLatency(AnalysisSpec analysis) =>
        analysis.P50 is not null || analysis.P95 is not null || analysis.P99 is not null
        || analysis.Compare is { } compare && (compare.P95IncreasePercent is not null || compare.RankTestAlpha is not null);
}
