using Flotilla.Model;

namespace Flotilla.Controllers.Rollouts;

/// <summary>
/// What one look at a release decided: the next state (the very same instance when nothing
/// changed), the messages for the event log in the order they were said, and what must be measured
/// before the release can go on: an analysis to run (<see cref="Analyse"/>) or a parallel run's
/// report to read (<see cref="ReadReport"/>). The controller measures and asks again with the
/// <see cref="ReleaseEvidence"/>.
/// </summary>
internal sealed record ReleasePlan(ReleaseState Next, IReadOnlyList<ReleaseMessage> Messages, AnalysisRequest? Analyse = null, ParallelReportRequest? ReadReport = null)
{
    /// <summary>A plan that says one thing (or nothing) and measures nothing.</summary>
    public static ReleasePlan Of(ReleaseState next, string? message = null) => new(next, message is null ? [] : [new ReleaseMessage(message)]);
}

/// <summary>A line for the event log; <see cref="Warning"/> when the release went wrong or could not decide.</summary>
internal sealed record ReleaseMessage(string Text, bool Warning = false);

/// <summary>Run (or go on running) the analysis <see cref="Name"/> of the new revision against <see cref="Against"/>: the stable revision, or its baseline.</summary>
internal sealed record AnalysisRequest(string Name, AnalysisSpec Spec, string Against);

/// <summary>Read the router's report of the parallel run <see cref="Run"/> (the id the router was given with the mirror).</summary>
internal sealed record ParallelReportRequest(string Run);
