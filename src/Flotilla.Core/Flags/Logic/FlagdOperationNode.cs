namespace Flotilla.Flags.Logic;

/// <summary>
/// A flagd operator. As in flagd, it gets its arguments evaluated as one list: the items of the
/// rule's array, or, when the rule gives a single expression, what that evaluates to if it is a
/// list (anything else is not an argument list, so null).
/// </summary>
internal sealed class FlagdOperationNode(LogicNode[]? items, LogicNode? single, FlagdBody body) : LogicNode
{
    public override object? Evaluate(in LogicScope scope)
    {
        if (items is null)
        {
            return single!.Evaluate(scope) is object?[] list ? body(list, scope) : null;
        }
        var room = default(FlagdArguments);
        Span<object?> values = items.Length <= 3 ? room : new object?[items.Length];
        values = values[..items.Length];
        for (var i = 0; i < items.Length; i++)
        {
            values[i] = items[i].Evaluate(scope);
        }
        return body(values, scope);
    }
}
