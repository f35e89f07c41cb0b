namespace Flotilla.Flags.Logic;

/// <summary>
/// What a rule is evaluated against: the data <c>var</c> reads (the evaluation context, or the
/// current item inside map/filter/reduce), and flagd's <c>$flagd</c> properties.
/// </summary>
internal readonly struct LogicScope(object? data, string flagKey, long timestamp, object? root = null)
{
    public object? Data { get; } = data;

    /// <summary>The whole evaluation context, also inside map/filter/reduce (fractional reads its targetingKey).</summary>
    public object? Root { get; } = root ?? data;
    public string FlagKey { get; } = flagKey;
    public long Timestamp { get; } = timestamp;

    public LogicScope With(object? data) => new(data, FlagKey, Timestamp, Root);
}

/// <summary>A compiled JSON Logic expression: the rule's JSON is read once, when the flag set loads.</summary>
internal abstract class LogicNode
{
    public abstract object? Evaluate(in LogicScope scope);

    /// <summary>The value when it does not depend on the data (a literal), else null.</summary>
    public virtual bool IsConstant => false;
}

internal sealed class LiteralNode(object? value) : LogicNode
{
    public object? Value { get; } = value;

    public override object? Evaluate(in LogicScope scope) => Value;

    public override bool IsConstant => true;
}

/// <summary>A JSON array inside a rule: its items are expressions too.</summary>
internal sealed class ArrayNode(LogicNode[] items) : LogicNode
{
    public LogicNode[] Items { get; } = items;

    public override object? Evaluate(in LogicScope scope)
    {
        var values = new object?[Items.Length];
        for (var i = 0; i < Items.Length; i++)
        {
            values[i] = Items[i].Evaluate(scope);
        }
        return values;
    }
}

internal delegate object? OperatorBody(LogicNode[] args, in LogicScope scope);

/// <summary>An operation: its arguments stay unevaluated until the operator asks (if, and, or short-circuit).</summary>
internal sealed class OperationNode(string name, LogicNode[] args, OperatorBody body) : LogicNode
{
    public string Name { get; } = name;
    public LogicNode[] Args { get; } = args;

    public override object? Evaluate(in LogicScope scope) => body(Args, scope);
}

/// <summary><c>{"var": "a.b"}</c> with a path known at load: its segments are split once.</summary>
internal sealed class VarNode(string[] segments, LogicNode? fallback) : LogicNode
{
    public override object? Evaluate(in LogicScope scope)
    {
        var value = Resolve(scope, segments);
        return value is null && fallback is not null ? fallback.Evaluate(scope) : value;
    }

    public static string[] Split(string path) => path.Length == 0 ? [] : path.Split('.');

    public static object? Resolve(in LogicScope scope, string[] segments)
    {
        if (segments.Length == 0)
        {
            return scope.Data;
        }
        if (segments[0] == "$flagd" && segments.Length == 2)
        {
            return segments[1] switch
            {
                "flagKey" => scope.FlagKey,
                "timestamp" => (double)scope.Timestamp,
                _ => null,
            };
        }
        var current = scope.Data;
        foreach (var segment in segments)
        {
            current = current switch
            {
                IReadOnlyDictionary<string, object?> map => map.TryGetValue(segment, out var next) ? next : null,
                object?[] array when int.TryParse(segment, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var i) && i < array.Length => array[i],
                _ => null,
            };
            if (current is null)
            {
                return null;
            }
        }
        return current;
    }
}
