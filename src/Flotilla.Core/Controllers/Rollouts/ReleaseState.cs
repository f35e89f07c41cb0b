using Flotilla.Conditions;
using Flotilla.Controllers.InstanceSets;
using Flotilla.Model;

namespace Flotilla.Controllers.Rollouts;

/// <summary>Where a canary or blue-green release stands.</summary>
public enum ReleasePhase
{
    /// <summary>Working through its steps.</summary>
    Progressing,

    /// <summary>Held: a pause step without a duration, an inconclusive analysis, or a blue-green waiting to be promoted.</summary>
    Paused,

    /// <summary>Canary: steps done; the new revision is scaled to full size, then takes all traffic.</summary>
    Promoting,

    /// <summary>The new revision is the stable one.</summary>
    Complete,

    /// <summary>Traffic back on the stable revision, the new one scaled down (Degraded until the next apply or retry).</summary>
    Aborted,
}

/// <summary>
/// One service's release from <see cref="Stable"/> to <see cref="Target"/>, stored so that a
/// control plane restarted mid-release carries on where it was (and so that promote, abort and
/// retry are recorded intents). <see cref="Step"/> is the canary step, or for blue-green 0
/// before the switch and 1 after it.
/// </summary>
public sealed record ReleaseState(
    string Service,
    RolloutStrategy Strategy,
    string Target,
    string Stable,
    DesiredService? TargetSpec,
    DesiredService? StableSpec,
    ReleasePhase Phase,
    int Step,
    DateTimeOffset StepStartedAt,
    int Weight,
    string? Reason = null,
    DateTimeOffset? SwitchedAt = null,
    bool SkipAnalysis = false,
    IReadOnlyList<AnalysisReport>? Analyses = null)
{
    public bool IsActive => Phase != ReleasePhase.Complete;

    /// <summary>The reason as shown: an abort still waiting for stable capacity says so (derived from the weight it keeps).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public string? ShownReason => Phase == ReleasePhase.Aborted && Weight > 0
        ? $"{Reason} [capacity-bound: {Weight}% still on the canary until the stable side has its instances ready]"
        : Reason;

    /// <summary>Degraded: aborted, or paused because an analysis could not decide.</summary>
    public bool IsDegraded => Phase == ReleasePhase.Aborted;

    /// <summary>The release as a condition of its service: progressing, paused (waits for a person) or degraded (aborted); null once complete.</summary>
    public Condition? ToCondition()
    {
        var kind = Kind(Strategy);
        return Phase switch
        {
            ReleasePhase.Complete => null,
            ReleasePhase.Aborted => new(ConditionType.Degraded, "RolloutAborted",
                $"{kind} of revision {Target} aborted ({ShownReason}); runs {Stable}; apply again or flotilla rollout retry {Service}"),
            ReleasePhase.Paused => new(ConditionType.Paused, "RolloutPaused", $"{kind} of revision {Target} at {Weight}% ({Reason})"),
            _ => new(ConditionType.Progressing, Phase == ReleasePhase.Promoting ? "RolloutPromoting" : "RolloutProgressing",
                $"{kind} of revision {Target} in progress: {Weight}% of traffic on it"),
        };
    }

    public ReleaseState WithAnalysis(AnalysisReport report) => this with { Analyses = [.. Analyses ?? [], report] };

    /// <summary>A release of this strategy, in words.</summary>
    public static string Kind(RolloutStrategy strategy) => strategy switch
    {
        RolloutStrategy.Canary => "canary",
        RolloutStrategy.Parallel => "parallel run",
        _ => "blue-green release",
    };
}

/// <summary>A release as <c>rollout status</c> shows it: the state, the step in words, and live metrics of both sides since it began.</summary>
public sealed record ReleaseStatus(
    RolloutStrategy Strategy,
    ReleasePhase Phase,
    string Target,
    string Stable,
    int Weight,
    int Step,
    int Steps,
    string StepText,
    string? Reason,
    bool Degraded,
    WindowSummary Canary,
    WindowSummary StableSide,
    AnalysisReport? Running,
    IReadOnlyList<AnalysisReport> Analyses,
    int? PreviewPort = null)
{
    /// <summary>A parallel run's comparison report, as last read from the router.</summary>
    public Router.Mirror.ParallelReport? Parallel { get; init; }
}
