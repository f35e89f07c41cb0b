using Flotilla.Controllers.InstanceSets;
using Flotilla.Model;
using Flotilla.Tenancy;

namespace Flotilla.Hosting;

/// <summary>
/// A tenant's quota, checked before a change of one of its environments is recorded: the use of
/// all its environments now, with the changed one's replaced by what the change takes at its peak.
/// One per tenant (<see cref="ControlPlanes.AdmissionOf"/>). Each environment has its own lock and
/// its own store, so two environments' changes could both be checked against the same headroom;
/// the tenant's gate, held from the check until the change's desired state is recorded, makes
/// check-and-record one step per tenant. A lock rather than a store transaction: the use is summed
/// over several environments' stores and in-memory states, which no single transaction spans (one
/// server process owns a data directory, so an in-process gate covers every writer).
/// </summary>
public sealed class TenantAdmission(ControlPlanes planes, string tenant) : IAdmission
{
    /// <summary>Generous: the gate is held for store writes and router calls, never a build.</summary>
    private static readonly TimeSpan GateTimeout = TimeSpan.FromSeconds(60);
    private readonly SemaphoreSlim _gate = new(1, 1);

    public IDisposable Admit(ControlPlane plane, IReadOnlyList<DesiredService> proposed)
    {
        // Taken on every change, quota or not: a quota set meanwhile then sees every change recorded before.
        if (!_gate.Wait(GateTimeout))
        {
            throw new ControlPlaneException($"another change of tenant '{tenant}' has held its quota check for over {GateTimeout.TotalSeconds:0} s; nothing was changed: try again", ControlPlaneError.Unavailable);
        }
        var hold = new AdmissionHold(_gate);
        try
        {
            Check(plane, proposed);
            return hold;
        }
        catch
        {
            hold.Dispose();
            throw;
        }
    }

    private void Check(ControlPlane plane, IReadOnlyList<DesiredService> proposed)
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
