namespace Flotilla.Conditions;

/// <summary>
/// What a <see cref="Condition"/> says. Clients (the CLI, the dashboard, scripts) decide from this,
/// never from a condition's message, which is for people and may change.
/// </summary>
public enum ConditionType
{
    /// <summary>A release moves through its steps by itself.</summary>
    Progressing,

    /// <summary>A release waits for a person: promote or abort (a pause step, an inconclusive analysis, a colour to switch to).</summary>
    Paused,

    /// <summary>A release was aborted: traffic is on the stable revision until an apply or a retry.</summary>
    Degraded,

    /// <summary>GitOps: the latest revision was not made from the followed commit (an undo, a promote, an apply by hand).</summary>
    RevisionDrift,

    /// <summary>GitOps: an operator scaled or stopped a service.</summary>
    ScaleDrift,

    /// <summary>GitOps: a flag was changed at runtime.</summary>
    FlagDrift,

    /// <summary>Federation: a cluster's engine does not answer; retried with back-off while the other clusters go on.</summary>
    Unreachable,
}
