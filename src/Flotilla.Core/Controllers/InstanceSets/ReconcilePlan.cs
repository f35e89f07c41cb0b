namespace Flotilla.Controllers.InstanceSets;

/// <summary>
/// What one reconcile pass decided; an empty plan means the system has converged.
/// <see cref="Health"/> is the failure history including the failures this pass accounted for.
/// </summary>
public sealed record ReconcilePlan(
    IReadOnlyList<StartInstance> Starts,
    IReadOnlyList<StopInstance> Stops,
    IReadOnlyList<ForgetInstance> Forgets,
    IReadOnlyDictionary<string, string> Waiting,
    DateTimeOffset? WakeAt,
    IReadOnlyDictionary<string, ServiceHealth> Health)
{
    public bool IsEmpty => Starts.Count == 0 && Stops.Count == 0 && Forgets.Count == 0;
}

/// <summary>Start one instance of the service's desired revision, in <see cref="Zone"/> when zones are declared.</summary>
public sealed record StartInstance(string Service, string Revision, string? Zone = null);

/// <summary>Take an instance out of rotation, drain it, stop it. <see cref="Failure"/> counts toward back-off.</summary>
public sealed record StopInstance(string InstanceId, string Service, string Reason, bool Failure, bool AfterStableRun);

/// <summary>Account for an exited instance and drop it. <see cref="Failure"/>: it exited without being asked to.</summary>
public sealed record ForgetInstance(string InstanceId, string Service, bool Failure, bool AfterStableRun, string? Reason);
