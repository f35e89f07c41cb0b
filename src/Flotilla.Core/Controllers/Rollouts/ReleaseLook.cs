using Flotilla.Model;

namespace Flotilla.Controllers.Rollouts;

/// <summary>
/// One look at a release, as the strategy planners take it: what they were given, and what they
/// said and asked to have measured on the way to the next state. It lives for one call of
/// <see cref="ReleasePlanner.Plan"/>; the moves every strategy shares (next step, abort, the
/// progress deadline, an analysis's verdict, a parallel run's gate) are here.
/// </summary>
internal sealed class ReleaseLook(RolloutSpec rollout, ReleaseSides sides, ReleaseEvidence evidence, DateTimeOffset now)
{
    private readonly List<ReleaseMessage> _messages = [];
    private AnalysisRequest? _analyse;
    private ParallelReportRequest? _readReport;

    public RolloutSpec Rollout => rollout;

    public ReleaseSides Sides => sides;

    public DateTimeOffset Now => now;

    public ReleasePlan Result(ReleaseState next) => new(next, _messages, _analyse, _readReport);

    public ReleaseState Say(ReleaseState state, string message, bool warning = false)
    {
        _messages.Add(new ReleaseMessage(message, warning));
        return state;
    }

    public ReleaseState Next(ReleaseState state) => ReleasePlanner.Next(state, now);

    /// <summary>Aborts: all traffic back to the stable revision in this very change if it has the capacity, else as its ready instances allow.</summary>
    public ReleaseState Abort(ReleaseState state, string reason)
    {
        var aborted = ReleasePlanner.BackOntoStable(state with { Phase = ReleasePhase.Aborted, Reason = reason }, sides);
        return Say(aborted, $"aborted: {reason}; {(aborted.Weight == 0 ? "all" : $"{100 - aborted.Weight}% of")} traffic back on stable revision {state.Stable}", warning: true);
    }

    /// <summary>Aborts a release whose new instances do not become ready within the progress deadline; null while there is time.</summary>
    public ReleaseState? Stalled(ReleaseState state) =>
        now - state.StepStartedAt > rollout.ProgressDeadline
            ? Abort(state, $"instances of revision {state.Target} not ready within progressDeadline {Quantities.Format(rollout.ProgressDeadline)}")
            : null;

    /// <summary>
    /// An analysis's verdict moves the release on (<paramref name="onPass"/>), aborts it, or pauses
    /// it; with no verdict yet the release stays and the analysis is asked for.
    /// </summary>
    public ReleaseState Analyse(ReleaseState state, string name, AnalysisSpec spec, Func<ReleaseState, ReleaseState> onPass)
    {
        if (evidence.Verdict is not { Phase: not AnalysisPhase.Running } verdict)
        {
            _analyse = new AnalysisRequest(name, spec, spec.Baseline ? ReleasePlanner.BaselineOf(state.Stable) : state.Stable);
            return state;
        }
        var judged = state.WithAnalysis(verdict);
        return verdict.Phase switch
        {
            AnalysisPhase.Successful => onPass(Say(judged, $"{name} passed ({verdict.Measurements.Count} measurements)")),
            AnalysisPhase.Failed => Abort(judged, verdict.Reason!),
            _ => Say(judged with { Phase = ReleasePhase.Paused, Reason = $"{verdict.Reason}; not promoting on too little data: promote or abort" }, verdict.Reason!, warning: true),
        };
    }

    /// <summary>
    /// The gate of a parallel run (the strategy, or a canary's parallel step): once the duration
    /// or request count is reached, the mismatch rate passes (<paramref name="onPass"/>), aborts,
    /// or with too few comparisons pauses. Without a report of this very run, its report is asked for.
    /// </summary>
    public ReleaseState JudgeParallel(ReleaseState state, ParallelSpec spec, Func<ReleaseState, ReleaseState> onPass)
    {
        var run = ReleasePlanner.MirrorOf(state, spec).Run;
        if (evidence.Report is not { } report || report.Candidate != state.Target || report.Run != run)
        {
            _readReport = new ParallelReportRequest(run);
            return state;
        }
        if (state.Phase == ReleasePhase.Paused || now - state.StepStartedAt < spec.Duration && (spec.Requests is null || report.Compared < spec.Requests))
        {
            return state;
        }
        var summary = $"{report.Mismatches} of {report.Compared} compared requests differ ({report.MismatchRate:0.##}%, limit {spec.MaxMismatchRate}%)"
            + (report.Fields.Count > 0 ? $"; most: {report.Fields[0].Field} ({report.Fields[0].Count})" : "");
        if (report.Compared < spec.MinRequests)
        {
            return Say(state with { Phase = ReleasePhase.Paused, Reason = $"parallel run inconclusive: {report.Compared} requests compared, fewer than minRequests {spec.MinRequests}; promote or abort" },
                $"parallel run inconclusive: {report.Compared} requests compared", warning: true);
        }
        if (report.MismatchRate > spec.MaxMismatchRate)
        {
            return Abort(state, $"parallel run: {summary}");
        }
        return onPass(Say(state, $"parallel run passed: {summary}"));
    }
}
