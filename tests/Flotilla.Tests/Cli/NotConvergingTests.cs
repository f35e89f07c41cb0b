using Flotilla.Cli.Commands;
using Flotilla.Conditions;
using Flotilla.Hosting;

namespace Flotilla.Tests.Cli;

/// <summary><c>apply --wait</c> stops waiting for a release that will not converge by itself, decided by the conditions' types, never by their words.</summary>
public sealed class NotConvergingTests
{
    private static ServiceDrift Drift(string service, params Condition[] conditions) =>
        new(service, "v2", 2, 3, 3, false, conditions.Select(c => c.Text()).ToList()) { Conditions = conditions };

    [Fact]
    public void ADegradedRelease_IsAnError_Exit1()
    {
        var degraded = new Condition(ConditionType.Degraded, "RolloutAborted", "canary of revision v2 aborted (aborted by ann); runs v1");

        Assert.Equal((1, "error: degraded: canary of revision v2 aborted (aborted by ann); runs v1"), ChangeCommands.NotConverging([Drift("reviews", degraded)]));
    }

    [Fact]
    public void APausedRelease_StopsTheWait_Exit3_AndSaysWhatToDo()
    {
        var paused = new Condition(ConditionType.Paused, "RolloutPaused", "canary of revision v2 at 25% (pause step 2)");

        Assert.Equal((3, "not waiting longer: paused: canary of revision v2 at 25% (pause step 2); flotilla rollout promote or abort"),
            ChangeCommands.NotConverging([Drift("web"), Drift("reviews", paused)]));
    }

    [Fact]
    public void AProgressingRelease_OrWordsThatLookLikeAState_KeepTheWaitGoing()
    {
        var progressing = new Condition(ConditionType.Progressing, "RolloutProgressing", "canary of revision v2 in progress: 20% of traffic on it");
        var looksDegraded = new ServiceDrift("web", "v2", 2, 1, 1, false, ["degraded: only words, no condition", "paused: neither"]);

        Assert.Null(ChangeCommands.NotConverging([Drift("reviews", progressing), looksDegraded]));
    }
}
