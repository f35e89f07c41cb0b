using Flotilla.Tenancy;

namespace Flotilla.Hosting;

/// <summary>
/// A federated environment's cluster as its tenant's quota counts it: its control plane (what it
/// runs) and what the federation's revision has it run at rest once it gets there (<see cref="Promised"/>).
/// It counts the larger of the two, so headroom promised to a cluster that has not applied yet is not taken by another change.
/// </summary>
public sealed record ClusterQuotaUse(ControlPlane Plane, QuotaUse Promised);
