namespace Flotilla.Router.HAProxy;

/// <summary>
/// A traffic split as HAProxy server weights: one backend per endpoint holds every revision's
/// instances, and each side's share is divided among its instances (weights are 0..256 per
/// server, so a share is exact to about 1/256 of the largest one). The same sides as the
/// embedded router's: canary, the analysis baseline (as many users as the canary, from the
/// stable side) and stable; a side with no instance gives its share to the other. Pure.
/// </summary>
internal static class HAProxyWeights
{
    public const int MaxWeight = 256;

    /// <summary>Every server of one endpoint's backend with the weight the table gives it.</summary>
    public static IReadOnlyList<ServerPlan> Plan(IReadOnlyList<RouteDestination> routes, TrafficSplit? split)
    {
        if (routes.Count == 0)
        {
            return [];
        }
        if (split is null)
        {
            return routes.Select(r => Server(r, 100)).ToList();
        }
        var canary = routes.Count(r => r.Revision == split.Canary);
        var baseline = split.Baseline is null ? 0 : routes.Count(r => r.Revision == split.Baseline && r.Revision != split.Canary);
        var stable = routes.Count - canary - baseline;
        var weight = Math.Clamp(split.Weight, 0, 100);
        double canaryShare = weight, baselineShare = baseline == 0 ? 0 : Math.Min(weight, 100 - weight);
        var stableShare = 100 - canaryShare - baselineShare;
        if (canary == 0)
        {
            stableShare += canaryShare;
            canaryShare = 0;
        }
        if (stable == 0)
        {
            canaryShare += stableShare;
            stableShare = 0;
        }
        double PerServer(RouteDestination r) =>
            r.Revision == split.Canary ? canaryShare / canary
            : baseline > 0 && r.Revision == split.Baseline ? baselineShare / baseline
            : stable == 0 ? 0 : stableShare / stable;
        var largest = routes.Max(PerServer);
        return routes.Select(r =>
        {
            var raw = PerServer(r);
            return Server(r, raw <= 0 ? 0 : Math.Max(1, (int)Math.Round(raw / largest * MaxWeight)));
        }).ToList();
    }

    /// <summary>A server name HAProxy accepts ([A-Za-z0-9_.:-]) that is still the instance's id when it is one already.</summary>
    public static string ServerName(string instanceId) =>
        string.Concat(instanceId.Select(c => char.IsAsciiLetterOrDigit(c) || c is '_' or '.' or '-' ? c : '_'));

    private static ServerPlan Server(RouteDestination route, int weight) =>
        new(ServerName(route.InstanceId), route.InstanceId, route.Revision, route.Host, route.Port, weight);
}
