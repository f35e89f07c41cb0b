namespace Flotilla.Model;

/// <summary>
/// How a service moves to a new revision (a rolling update): at most <see cref="MaxSurge"/>
/// instances over the desired count, at most <see cref="MaxUnavailable"/> under it, a new
/// instance counts as available once ready for <see cref="MinReady"/>, and a rollout that makes
/// no progress for <see cref="ProgressDeadline"/> is rolled back. The last <see cref="History"/>
/// revisions of the service can be gone back to. The defaults (25% surge, 0 unavailable) keep a
/// 1-instance service serving through an update. A canary or blue-green strategy keeps the
/// stable revision running beside the new one and moves traffic between them in the router.
/// </summary>
public sealed record RolloutSpec(RolloutAmount MaxSurge, RolloutAmount MaxUnavailable, TimeSpan MinReady, TimeSpan ProgressDeadline, int History = 10)
{
    public const int MaxHistory = 100;

    public RolloutStrategy Strategy { get; init; } = RolloutStrategy.Rolling;

    /// <summary>Canary: the steps, in order; the canary gets all traffic after the last one.</summary>
    public IReadOnlyList<CanaryStep> Steps { get; init; } = [];

    /// <summary>Canary: requests that always reach the canary while it runs.</summary>
    public TrafficMatch? Match { get; init; }

    /// <summary>Canary: a header whose value keeps a user on one side (else a cookie the router sets).</summary>
    public string? StickyHeader { get; init; }

    /// <summary>Canary: scale the stable set down as the canary's weight grows (else it stays at full size, so an abort is never short of capacity).</summary>
    public bool DynamicStableScale { get; init; }

    /// <summary>Blue-green: the new colour is reachable on its own endpoint before the switch.</summary>
    public bool Preview { get; init; }

    /// <summary>Blue-green: a fixed port for the preview endpoint (else one is picked).</summary>
    public int? PreviewPort { get; init; }

    /// <summary>Blue-green: switch as soon as the new colour is ready and analysed (else wait for <c>rollout promote</c>).</summary>
    public bool AutoPromote { get; init; } = true;

    /// <summary>Blue-green: how long the old colour stays warm after the switch, so an undo is instant.</summary>
    public TimeSpan ScaleDownDelay { get; init; } = TimeSpan.FromSeconds(30);

    /// <summary>Parallel: what is mirrored, how answers are compared, and the gate.</summary>
    public ParallelSpec Parallel { get; init; } = new();

    public AnalysisSpec? PrePromotionAnalysis { get; init; }
    public AnalysisSpec? PostPromotionAnalysis { get; init; }

    /// <summary>True for canary and blue-green: the router moves traffic between two revisions.</summary>
    public bool IsProgressive => Strategy != RolloutStrategy.Rolling;

    public static RolloutSpec Default { get; } = new(RolloutAmount.Percent(25), RolloutAmount.Count(0), TimeSpan.Zero, TimeSpan.FromMinutes(2));

    /// <summary>
    /// Both bounds for <paramref name="instances"/>, rounded as Kubernetes does: surge up,
    /// unavailable down; when both come out 0, one instance may be unavailable (else nothing could move).
    /// </summary>
    public (int Surge, int Unavailable) Resolve(int instances)
    {
        var surge = MaxSurge.Resolve(instances, roundUp: true);
        var unavailable = MaxUnavailable.Resolve(instances, roundUp: false);
        return surge == 0 && unavailable == 0 ? (0, 1) : (surge, unavailable);
    }
}

/// <summary>A number of instances, or a percentage of the desired count.</summary>
public readonly record struct RolloutAmount(int Value, bool IsPercent)
{
    public static RolloutAmount Count(int value) => new(value, false);

    public static RolloutAmount Percent(int value) => new(value, true);

    public int Resolve(int instances, bool roundUp)
    {
        if (!IsPercent)
        {
            return Value;
        }
        var exact = instances * Value / 100.0;
        return (int)(roundUp ? Math.Ceiling(exact) : Math.Floor(exact));
    }

    public override string ToString() => IsPercent ? $"{Value}%" : Value.ToString(System.Globalization.CultureInfo.InvariantCulture);
}
