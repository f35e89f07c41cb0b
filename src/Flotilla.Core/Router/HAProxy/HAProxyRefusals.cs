using Flotilla.Model;

namespace Flotilla.Router.HAProxy;

/// <summary>
/// What the HAProxy engine does not do, refused (at apply, and on every path that makes a stored
/// revision run) with the fix, rather than served silently wrong: latency percentiles for
/// analysis (HAProxy 2.6 keeps only averages), header/cookie targeting and a sticky header,
/// parallel runs (mirroring), flags (OFREP) and functions (requests held at zero instances). Pure.
/// </summary>
internal static class HAProxyRefusals
{
    private const string Fix = "run the server with '--router-engine yarp' (the default), or remove it from the spec";

    public static string? Refuse(SystemSpec spec) =>
        Refuse(spec.Flags is not null, spec.Services.Select(s => (s.Name, s.Rollout, s.Function is not null)));

    public static string? Refuse(bool flags, IEnumerable<(string Service, RolloutSpec Rollout, bool Function)> services) =>
        Find(flags, services) is { } found ? $"{found.Subject}: {found.What}; the router runs with --router-engine haproxy: {Fix}" : null;

    /// <summary>The first thing the engine cannot serve: whose it is and what it is, or null.</summary>
    public static (string Subject, string What)? Find(bool flags, IEnumerable<(string Service, RolloutSpec Rollout, bool Function)> services)
    {
        if (flags)
        {
            return ("this spec", "flags (OFREP) are served by the embedded router only");
        }
        foreach (var (service, rollout, function) in services)
        {
            var what = function ? "a function (requests held while it has no instance) needs the embedded router"
                : rollout.Match is { } match ? $"rollout targeting ({match}) is not done by this engine"
                : rollout.StickyHeader is not null ? $"a sticky header ({rollout.StickyHeader}) is not done by this engine"
                : rollout.Strategy == RolloutStrategy.Parallel || rollout.Steps.Any(s => s.Parallel is not null) ? "a parallel run mirrors requests, which this engine does not do"
                : Analyses(rollout).FirstOrDefault(NeedsLatency) is not null ? "an analysis on latency (p50/p95/p99, a p95 increase or a rank test) needs latency histograms; HAProxy 2.6 keeps only averages"
                : null;
            if (what is not null)
            {
                return ($"service '{service}'", what);
            }
        }
        return null;
    }

    private static IEnumerable<AnalysisSpec> Analyses(RolloutSpec rollout) =>
        rollout.Steps.Select(s => s.Analysis).Append(rollout.PrePromotionAnalysis).Append(rollout.PostPromotionAnalysis).OfType<AnalysisSpec>();

    private static bool NeedsLatency(AnalysisSpec analysis) =>
        analysis.P50 is not null || analysis.P95 is not null || analysis.P99 is not null
        || analysis.Compare is { } compare && (compare.P95IncreasePercent is not null || compare.RankTestAlpha is not null);
}
