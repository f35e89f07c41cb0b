using Flotilla.Conditions;
using Flotilla.Controllers.Rollouts;
using Flotilla.Model;

namespace Flotilla.Tests.Controllers.Releases;

/// <summary>A release as its service's condition: the type a client decides on, a reason, and the words status and diff show.</summary>
public sealed class ReleaseConditionTests
{
    private static ReleaseState Release(RolloutStrategy strategy, ReleasePhase phase, int weight, string? reason = null) =>
        new("reviews", strategy, "v2", "v1", null, null, phase, 1, DateTimeOffset.UnixEpoch, weight, reason);

    public static TheoryData<RolloutStrategy, ReleasePhase, int, string?, ConditionType, string, string> Phases => new()
    {
        { RolloutStrategy.Canary, ReleasePhase.Progressing, 20, null, ConditionType.Progressing, "RolloutProgressing", "canary of revision v2 in progress: 20% of traffic on it" },
        { RolloutStrategy.Canary, ReleasePhase.Promoting, 100, null, ConditionType.Progressing, "RolloutPromoting", "canary of revision v2 in progress: 100% of traffic on it" },
        { RolloutStrategy.Canary, ReleasePhase.Paused, 25, "pause step 2", ConditionType.Paused, "RolloutPaused", "paused: canary of revision v2 at 25% (pause step 2)" },
        { RolloutStrategy.BlueGreen, ReleasePhase.Paused, 0, "waiting for promote", ConditionType.Paused, "RolloutPaused", "paused: blue-green release of revision v2 at 0% (waiting for promote)" },
        {
            RolloutStrategy.Canary, ReleasePhase.Aborted, 0, "aborted by ann", ConditionType.Degraded, "RolloutAborted",
            "degraded: canary of revision v2 aborted (aborted by ann); runs v1; apply again or flotilla rollout retry reviews"
        },
        {
            RolloutStrategy.Parallel, ReleasePhase.Aborted, 0, "parallel run: 30% differ", ConditionType.Degraded, "RolloutAborted",
            "degraded: parallel run of revision v2 aborted (parallel run: 30% differ); runs v1; apply again or flotilla rollout retry reviews"
        },
    };

    [Theory]
    [MemberData(nameof(Phases))]
    public void AnActiveRelease_IsAConditionOfItsType_WithItsReasonAndWords(
        RolloutStrategy strategy, ReleasePhase phase, int weight, string? reason, ConditionType type, string conditionReason, string text)
    {
        var condition = Release(strategy, phase, weight, reason).ToCondition();

        Assert.NotNull(condition);
        Assert.Equal((type, conditionReason, text), (condition.Type, condition.Reason, condition.Text()));
        Assert.DoesNotContain(":", condition.Reason, StringComparison.Ordinal);
    }

    [Fact]
    public void ACompleteRelease_IsNoCondition() =>
        Assert.Null(Release(RolloutStrategy.Canary, ReleasePhase.Complete, 100).ToCondition());

    [Fact]
    public void AnAbortStillBoundByCapacity_SaysSoInItsMessage()
    {
        var condition = Release(RolloutStrategy.Canary, ReleasePhase.Aborted, 20, "success rate 80% is not >= 95%").ToCondition()!;

        Assert.Equal(ConditionType.Degraded, condition.Type);
        Assert.Contains("[capacity-bound: 20% still on the canary", condition.Message, StringComparison.Ordinal);
    }
}
