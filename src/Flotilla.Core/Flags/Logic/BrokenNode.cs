namespace Flotilla.Flags.Logic;

/// <summary>
/// A part of a rule that was kept although it cannot run: it fails only when evaluation reaches it
/// (an unknown operator in an <c>if</c> branch not taken is harmless in flagd too).
/// </summary>
internal sealed class BrokenNode(string reason) : LogicNode
{
    public string Reason { get; } = reason;

    public override object? Evaluate(in LogicScope scope) => throw new RuleException(Reason);
}
