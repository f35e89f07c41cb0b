namespace Flotilla.Conditions;

/// <summary>
/// A typed status condition, as Argo Rollouts writes them: the <see cref="Type"/> to decide from, a
/// short CamelCase <see cref="Reason"/> (e.g. RolloutAborted), and a <see cref="Message"/> for people.
/// </summary>
public sealed record Condition(ConditionType Type, string Reason, string Message)
{
    /// <summary>One line for status and diff: what waits for a person says so first ("degraded: ...", "paused: ...").</summary>
    public string Text() => Type switch
    {
        ConditionType.Degraded => $"degraded: {Message}",
        ConditionType.Paused => $"paused: {Message}",
        _ => Message,
    };
}
