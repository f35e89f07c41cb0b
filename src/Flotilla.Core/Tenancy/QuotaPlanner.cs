using System.Globalization;

namespace Flotilla.Tenancy;

/// <summary>
/// Whether a change of one environment fits its tenant's quota: the tenant's use now, with that
/// environment's part replaced by what the change takes at its peak (a rollout's surge counted up
/// front, so a rollout never stalls half way on a quota). Pure: the caller reads the state.
/// </summary>
public static class QuotaPlanner
{
    /// <summary>Null when it fits; else the refusal, naming the quota, the use now and what the change needs.</summary>
    public static string? Refusal(string tenant, TenantQuota quota, QuotaUse tenantNow, IReadOnlyList<ServiceFootprint> environmentNow, IReadOnlyList<ServiceFootprint> proposed) =>
        Refusal(tenant, quota, tenantNow, Sum(environmentNow, peak: false), proposed);

    /// <summary>As above, with what the environment takes now already summed (a federated one: over all its clusters).</summary>
    public static string? Refusal(string tenant, TenantQuota quota, QuotaUse tenantNow, QuotaUse here, IReadOnlyList<ServiceFootprint> proposed)
    {
        var needs = Sum(proposed, peak: true);
        var surge = proposed.Sum(s => s.FunctionMax is null ? s.Surge : 0);
        var total = tenantNow - here + needs;
        var problems = new List<string>();
        Check(problems, "instances", quota.Instances, tenantNow.Instances, needs.Instances, total.Instances, here.Instances, surge > 0 ? $" (a rollout's surge of {surge} included)" : "", "--instances", n => n.ToString(CultureInfo.InvariantCulture));
        Check(problems, "cpu", quota.Cpu, tenantNow.Cpu, needs.Cpu, total.Cpu, here.Cpu, "", "--cpu", n => n.ToString("0.###", CultureInfo.InvariantCulture));
        Check(problems, "memory", quota.MemoryBytes, tenantNow.MemoryBytes, needs.MemoryBytes, total.MemoryBytes, here.MemoryBytes, "", "--memory", Mi);
        Check(problems, "function instances", quota.FunctionInstances, tenantNow.FunctionInstances, needs.FunctionInstances, total.FunctionInstances, here.FunctionInstances, "", "--function-instances",
            n => n.ToString(CultureInfo.InvariantCulture));
        return problems.Count == 0 ? null
            : $"refused by the quota of tenant '{tenant}', nothing was started: {string.Join("; ", problems)}. Ask less, free some elsewhere, or have an operator raise it ('flotilla tenant quota {tenant} ...')";
    }

    public static QuotaUse Sum(IEnumerable<ServiceFootprint> services, bool peak) => services.Aggregate(QuotaUse.Zero, (sum, s) => sum + s.Use(peak));

    private static void Check<T>(List<string> problems, string what, T? limit, T now, T needs, T total, T here, string note, string flag, Func<T, string> format)
        where T : struct, IComparable<T>
    {
        // A change that takes no more than what the environment takes now is never refused, even over a quota lowered since.
        if (limit is { } max && total.CompareTo(max) > 0 && needs.CompareTo(here) > 0)
        {
            problems.Add($"{what}: quota {format(max)}, {format(now)} in use, this change needs {format(needs)}{note} where this environment takes {format(here)} now, {format(total)} in all ({flag})");
        }
    }

    private static string Mi(long bytes) => $"{bytes / (1024 * 1024)}Mi";
}
