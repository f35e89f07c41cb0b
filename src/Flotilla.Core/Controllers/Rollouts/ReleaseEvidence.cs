using Flotilla.Router.Mirror;

namespace Flotilla.Controllers.Rollouts;

/// <summary>
/// What was measured about the step a release is at, handed to the planner by whoever measures
/// (the controller runs analyses and reads the router): the verdict of the step's analysis once it
/// is over, and the parallel run's report as last read. Both are null until there is one.
/// </summary>
internal sealed record ReleaseEvidence(AnalysisReport? Verdict = null, ParallelReport? Report = null)
{
    public static ReleaseEvidence None { get; } = new();
}
