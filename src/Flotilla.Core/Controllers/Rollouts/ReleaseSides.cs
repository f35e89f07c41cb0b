using Flotilla.Runtime;

namespace Flotilla.Controllers.Rollouts;

/// <summary>What a release sees of its instances: the desired count and how many of each side are ready now.</summary>
internal readonly record struct ReleaseSides(int Desired, int TargetReady, int StableReady, int BaselineReady)
{
    /// <summary>Ready instances (not on their way out) of the release's new, stable and baseline revisions.</summary>
    public static ReleaseSides Of(ReleaseState state, int desired, IReadOnlyList<InstanceStatus> observed)
    {
        var ready = observed.Where(i => i.Service == state.Service && i.InRotation && i.State != InstanceState.Stopping).ToList();
        return new ReleaseSides(desired, ready.Count(i => i.Revision == state.Target), ready.Count(i => i.Revision == state.Stable),
            ready.Count(i => i.Revision == ReleasePlanner.BaselineOf(state.Stable)));
    }
}
