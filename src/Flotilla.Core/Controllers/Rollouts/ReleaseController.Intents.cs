using Flotilla.Model;
using Flotilla.Runtime;

namespace Flotilla.Controllers.Rollouts;

/// <summary>What operators do to a release (promote, abort, retry) and how it is shown.</summary>
public sealed partial class ReleaseController
{
    /// <summary>
    /// Promote: the next step (skipping a pause or a running analysis), or with <paramref name="full"/>
    /// straight to all traffic on the new revision. Blue-green: switch now. Throws
    /// <see cref="InvalidOperationException"/> with what to do instead when there is nothing to promote.
    /// </summary>
    public ReleaseState Promote(string service, bool full, string actor) => Change(service, $"promote{(full ? " --full" : "")}", actor, state =>
    {
        _runs.Remove(service);
        var plan = ReleasePlanner.Promote(state, full, time.GetUtcNow());
        Record(service, plan.Messages);
        return plan.Next;
    });

    /// <summary>Aborts by hand; <paramref name="desired"/> and <paramref name="observed"/> tell how much of the traffic the stable side can take now.</summary>
    public ReleaseState Abort(string service, string actor, int desired, IReadOnlyList<InstanceStatus> observed) => Change(service, "abort", actor, state =>
    {
        _runs.Remove(service);
        return ReleasePlanner.Abort(state, actor, ReleaseSides.Of(state, desired, observed));
    });

    public ReleaseState Retry(string service, string actor) => Change(service, "retry", actor, state => ReleasePlanner.Retry(state, time.GetUtcNow()));

    private ReleaseState Change(string service, string verb, string actor, Func<ReleaseState, ReleaseState> change)
    {
        lock (_gate)
        {
            var state = _states.GetValueOrDefault(service);
            if (state is null || !state.IsActive && verb != "retry")
            {
                throw new InvalidOperationException(state is null
                    ? $"service '{service}' has no canary or blue-green release (rollout.strategy is rolling, or nothing was applied since)"
                    : $"the release of revision {state.Target} is complete; there is nothing to {verb.Split(' ')[0]}");
            }
            var next = change(state);
            Save(next, $"{verb} by {actor}: {Describe(next)}");
            if (next.Phase == ReleasePhase.Progressing && next.Step == 0)
            {
                _live[service] = (new MetricsWindow(), new MetricsWindow());
            }
            return next;
        }
    }

    /// <summary>The release of a service as status shows it, or null for a service without one.</summary>
    public ReleaseStatus? Status(string service, RolloutSpec rollout)
    {
        lock (_gate)
        {
            if (_states.GetValueOrDefault(service) is not { } state || !rollout.IsProgressive)
            {
                return null;
            }
            var live = _live.GetValueOrDefault(service);
            var steps = state.Strategy == RolloutStrategy.Canary ? rollout.Steps.Count : 2;
            return new ReleaseStatus(state.Strategy, state.Phase, state.Target, state.Stable, state.Weight, state.Step, steps, StepText(state, rollout), state.ShownReason, state.IsDegraded,
                (live.Canary ?? new MetricsWindow()).Summary(), (live.Stable ?? new MetricsWindow()).Summary(), _runs.GetValueOrDefault(service)?.Report(), state.Analyses ?? [])
            {
                Parallel = _parallel.GetValueOrDefault(service) is { } report && report.Candidate == state.Target ? report : null,
            };
        }
    }

    private static string StepText(ReleaseState state, RolloutSpec rollout) => state.Strategy switch
    {
        _ when state.Phase is ReleasePhase.Complete or ReleasePhase.Aborted or ReleasePhase.Promoting => state.Phase.ToString().ToLowerInvariant(),
        RolloutStrategy.Canary => state.Step < rollout.Steps.Count ? $"step {state.Step + 1} of {rollout.Steps.Count}: {rollout.Steps[state.Step]}" : "steps done",
        RolloutStrategy.Parallel => state.Step == 0 ? "starting the candidate (no user traffic)" : $"comparing mirrored requests for {Quantities.Format(rollout.Parallel.Duration)}",
        _ => state.SwitchedAt is null ? "before the switch (no live traffic)" : "switched; old colour warm for the scale-down delay",
    };

    private static string Describe(ReleaseState state) => $"{state.Phase.ToString().ToLowerInvariant()}, {state.Weight}% on revision {state.Target}";
}
