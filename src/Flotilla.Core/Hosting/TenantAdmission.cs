using Flotilla.Controllers.InstanceSets;
using Flotilla.Model;
using Flotilla.Tenancy;

namespace Flotilla.Hosting;

/// <summary>
/// A tenant's quota, checked before a change of one of its environments is recorded: the use of
/// all its environments now, with the changed one's replaced by what the change takes at its peak.
/// </summary>
public sealed class TenantAdmission(ControlPlanes planes, string tenant) : IAdmission
{
    public void Admit(ControlPlane plane, IReadOnlyList<DesiredService> proposed)
    {
        if (planes.Root.Store.Tenant(tenant)?.QuotaJson is not { } json)
        {
            return;
        }
        var now = plane.Composed();
        var tenantNow = planes.Of(tenant).Aggregate(QuotaUse.Zero, (sum, p) => sum + QuotaPlanner.Sum(Footprints(p.Composed(), null), peak: false));
        if (QuotaPlanner.Refusal(tenant, TenantQuota.Parse(json), tenantNow, Footprints(now, null), Footprints(proposed, now)) is { } refusal)
        {
            throw new ControlPlaneException(refusal, ControlPlaneError.Conflict);
        }
    }

    /// <summary>
    /// What each service takes. Moving to a new revision (compared with <paramref name="current"/>)
    /// runs old and new side by side: a rolling update up to its maxSurge beyond the larger of the
    /// two counts, a blue-green, canary or parallel run the new side at full size beside the old.
    /// </summary>
    public static IReadOnlyList<ServiceFootprint> Footprints(IReadOnlyList<DesiredService> services, IReadOnlyList<DesiredService>? current) =>
        [.. services.Select(s =>
        {
            var before = current?.FirstOrDefault(c => c.Name == s.Name);
            var surge = 0;
            if (s.Function is null && before is { Instances: > 0 } && before.Revision != s.Revision && s.Instances > 0)
            {
                var rollout = s.Rollout ?? RolloutSpec.Default;
                var larger = Math.Max(s.Instances, before.Instances);
                surge = larger - s.Instances + (rollout.IsProgressive ? before.Instances : rollout.Resolve(larger).Surge);
            }
            return new ServiceFootprint(s.Name, s.Instances, surge, s.Resources?.Cpu ?? 0, s.Resources?.MemoryBytes ?? 0, s.Function?.Scale.Max);
        })];
}
