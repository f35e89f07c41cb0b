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

    public IDisposable Admit(ControlPlane plane, IReadOnlyList<DesiredService> proposed) =>
        Gated(clusters => (UseOf(plane, clusters), Footprints(proposed, plane.Composed())));

    /// <summary>
    /// Admits a federated environment's change as one: <paramref name="proposed"/> is what it would run over all its clusters
    /// (each cluster's overlay counted, each one's surge included), in place of what its clusters (<paramref name="running"/>) take now.
    /// </summary>
    public IDisposable AdmitFederation(IReadOnlyList<ControlPlane> running, IReadOnlyList<ServiceFootprint> proposed) =>
        Gated(clusters => (running.Aggregate(QuotaUse.Zero, (sum, p) => sum + UseOf(p, clusters)), proposed));

    private IDisposable Gated(Func<IReadOnlyList<ClusterQuotaUse>, (QuotaUse Here, IReadOnlyList<ServiceFootprint> Proposed)> change)
    {
        // Taken on every change, quota or not: a quota set meanwhile then sees every change recorded before.
        if (!_gate.Wait(GateTimeout))
        {
            throw new ControlPlaneException($"another change of tenant '{tenant}' has held its quota check for over {GateTimeout.TotalSeconds:0} s; nothing was changed: try again", ControlPlaneError.Unavailable);
        }
        var hold = new AdmissionHold(_gate);
        try
        {
            Check(change);
            return hold;
        }
        catch
        {
            hold.Dispose();
            throw;
        }
    }

    private void Check(Func<IReadOnlyList<ClusterQuotaUse>, (QuotaUse Here, IReadOnlyList<ServiceFootprint> Proposed)> change)
    {
        if (planes.Root.Store.Tenant(tenant)?.QuotaJson is not { } json)
        {
            return;
        }
        var clusters = planes.ClustersOf?.Invoke(tenant) ?? [];
        var (here, proposed) = change(clusters);
        var tenantNow = planes.Of(tenant).Concat(clusters.Select(c => c.Plane)).Aggregate(QuotaUse.Zero, (sum, p) => sum + UseOf(p, clusters));
        if (QuotaPlanner.Refusal(tenant, TenantQuota.Parse(json), tenantNow, here, proposed) is { } refusal)
        {
            throw new ControlPlaneException(refusal, ControlPlaneError.Conflict);
        }
    }

    /// <summary>What an environment takes at rest; a federation's cluster the larger of what it runs and what its federation promised it.</summary>
    private static QuotaUse UseOf(ControlPlane plane, IReadOnlyList<ClusterQuotaUse> clusters)
    {
        var running = QuotaPlanner.Sum(Footprints(plane.Composed(), null), peak: false);
        return clusters.FirstOrDefault(c => ReferenceEquals(c.Plane, plane)) is { } cluster ? QuotaUse.Max(running, cluster.Promised) : running;
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
            var surge = s.Function is null && before is not null && before.Revision != s.Revision ? Surge(s.Rollout ?? RolloutSpec.Default, s.Instances, before.Instances) : 0;
            return new ServiceFootprint(s.Name, s.Instances, surge, s.Resources?.Cpu ?? 0, s.Resources?.MemoryBytes ?? 0, s.Function?.Scale.Max);
        })];

    /// <summary>How many instances a rollout from <paramref name="before"/> to <paramref name="instances"/> runs beside the new count at its peak (0: nothing runs before).</summary>
    public static int Surge(RolloutSpec rollout, int instances, int before)
    {
        if (before <= 0 || instances <= 0)
        {
            return 0;
        }
        var larger = Math.Max(instances, before);
        return larger - instances + (rollout.IsProgressive ? before : rollout.Resolve(larger).Surge);
    }
}
