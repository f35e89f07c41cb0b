using static Flotilla.Flags.Logic.LogicValue;

namespace Flotilla.Flags.Logic;

/// <summary>How many arguments an operator takes, and what it does with them.</summary>
internal sealed record OperatorSpec(int MinArgs, int MaxArgs, OperatorBody Body);

/// <summary>The operators of JSON Logic (jsonlogic.com), with json-logic-js's semantics.</summary>
internal static class StandardOperators
{
    private const int Any = int.MaxValue;

    public static readonly IReadOnlyDictionary<string, OperatorSpec> All = new Dictionary<string, OperatorSpec>(StringComparer.Ordinal)
    {
        ["var"] = new(0, 2, DynamicVar),
        ["missing"] = new(0, Any, (LogicNode[] a, in LogicScope s) => Missing(Values(a, s), s)),
        ["missing_some"] = new(2, 2, MissingSome),
        ["if"] = new(0, Any, If),
        ["?:"] = new(0, Any, If),
        ["=="] = new(2, 2, (LogicNode[] a, in LogicScope s) => Bool(LooseEquals(a[0].Evaluate(s), a[1].Evaluate(s)))),
        ["!="] = new(2, 2, (LogicNode[] a, in LogicScope s) => Bool(!LooseEquals(a[0].Evaluate(s), a[1].Evaluate(s)))),
        ["==="] = new(2, 2, (LogicNode[] a, in LogicScope s) => Bool(StrictEquals(a[0].Evaluate(s), a[1].Evaluate(s)))),
        ["!=="] = new(2, 2, (LogicNode[] a, in LogicScope s) => Bool(!StrictEquals(a[0].Evaluate(s), a[1].Evaluate(s)))),
        ["!"] = new(1, 1, (LogicNode[] a, in LogicScope s) => Bool(!Truthy(a[0].Evaluate(s)))),
        ["!!"] = new(1, 1, (LogicNode[] a, in LogicScope s) => Bool(Truthy(a[0].Evaluate(s)))),
        ["or"] = new(1, Any, Or),
        ["and"] = new(1, Any, And),
        ["<"] = new(2, 3, (LogicNode[] a, in LogicScope s) => Bool(Chain(a, s, c => c < 0))),
        ["<="] = new(2, 3, (LogicNode[] a, in LogicScope s) => Bool(Chain(a, s, c => c <= 0))),
        [">"] = new(2, 2, (LogicNode[] a, in LogicScope s) => Bool(Compare(a[0].Evaluate(s), a[1].Evaluate(s)) > 0)),
        [">="] = new(2, 2, (LogicNode[] a, in LogicScope s) => Bool(Compare(a[0].Evaluate(s), a[1].Evaluate(s)) >= 0)),
        ["max"] = new(0, Any, (LogicNode[] a, in LogicScope s) => a.Length == 0 ? null : Values(a, s).Max(ToNumber)),
        ["min"] = new(0, Any, (LogicNode[] a, in LogicScope s) => a.Length == 0 ? null : Values(a, s).Min(ToNumber)),
        ["+"] = new(0, Any, (LogicNode[] a, in LogicScope s) => Values(a, s).Sum(ToNumber)),
        ["*"] = new(1, Any, (LogicNode[] a, in LogicScope s) => Values(a, s).Aggregate(1.0, (p, v) => p * ToNumber(v))),
        ["-"] = new(1, 2, (LogicNode[] a, in LogicScope s) => a.Length == 1 ? -ToNumber(a[0].Evaluate(s)) : ToNumber(a[0].Evaluate(s)) - ToNumber(a[1].Evaluate(s))),
        ["/"] = new(2, 2, (LogicNode[] a, in LogicScope s) => ToNumber(a[0].Evaluate(s)) / ToNumber(a[1].Evaluate(s))),
        ["%"] = new(2, 2, (LogicNode[] a, in LogicScope s) => ToNumber(a[0].Evaluate(s)) % ToNumber(a[1].Evaluate(s))),
        ["in"] = new(2, 2, In),
        ["cat"] = new(0, Any, (LogicNode[] a, in LogicScope s) => string.Concat(Values(a, s).Select(ToText))),
        ["substr"] = new(2, 3, Substr),
        ["merge"] = new(0, Any, (LogicNode[] a, in LogicScope s) => Values(a, s).SelectMany(v => v as object?[] ?? [v]).ToArray()),
        ["map"] = new(2, 2, (LogicNode[] a, in LogicScope s) => Each(a, s).Select(x => x.Result).ToArray()),
        ["filter"] = new(2, 2, (LogicNode[] a, in LogicScope s) => Each(a, s).Where(x => Truthy(x.Result)).Select(x => x.Item).ToArray()),
        ["all"] = new(2, 2, (LogicNode[] a, in LogicScope s) => Each(a, s) is { Count: > 0 } items ? Bool(items.All(x => Truthy(x.Result))) : False),
        ["none"] = new(2, 2, (LogicNode[] a, in LogicScope s) => Bool(!Each(a, s).Any(x => Truthy(x.Result)))),
        ["some"] = new(2, 2, (LogicNode[] a, in LogicScope s) => Bool(Each(a, s).Any(x => Truthy(x.Result)))),
        ["reduce"] = new(2, 3, Reduce),
        ["log"] = new(1, 1, (LogicNode[] a, in LogicScope s) => a[0].Evaluate(s)),
    };

    private static object?[] Values(LogicNode[] args, in LogicScope scope)
    {
        var values = new object?[args.Length];
        for (var i = 0; i < args.Length; i++)
        {
            values[i] = args[i].Evaluate(scope);
        }
        return values;
    }

    /// <summary>A var whose path is computed (a literal path compiles to <see cref="VarNode"/>).</summary>
    private static object? DynamicVar(LogicNode[] args, in LogicScope scope)
    {
        var path = args.Length == 0 ? null : args[0].Evaluate(scope);
        var value = VarNode.Resolve(scope, VarNode.Split(path is null ? "" : ToText(path)));
        return value is null && args.Length > 1 ? args[1].Evaluate(scope) : value;
    }

    private static object?[] Missing(object?[] keys, in LogicScope scope)
    {
        var list = keys.Length > 0 && keys[0] is object?[] first ? first : keys;
        var missing = new List<object?>();
        foreach (var key in list)
        {
            var value = VarNode.Resolve(scope, VarNode.Split(key is null ? "" : ToText(key)));
            if (value is null or "")
            {
                missing.Add(key);
            }
        }
        return missing.ToArray();
    }

    private static object? MissingSome(LogicNode[] args, in LogicScope scope)
    {
        var need = ToNumber(args[0].Evaluate(scope));
        var keys = args[1].Evaluate(scope) as object?[] ?? [];
        var missing = Missing([keys], scope);
        return keys.Length - missing.Length >= need ? Array.Empty<object?>() : missing;
    }

    private static object? If(LogicNode[] args, in LogicScope scope)
    {
        var i = 0;
        for (; i < args.Length - 1; i += 2)
        {
            if (Truthy(args[i].Evaluate(scope)))
            {
                return args[i + 1].Evaluate(scope);
            }
        }
        return i == args.Length - 1 ? args[i].Evaluate(scope) : null;
    }

    private static object? Or(LogicNode[] args, in LogicScope scope)
    {
        object? value = null;
        foreach (var arg in args)
        {
            value = arg.Evaluate(scope);
            if (Truthy(value))
            {
                return value;
            }
        }
        return value;
    }

    private static object? And(LogicNode[] args, in LogicScope scope)
    {
        object? value = null;
        foreach (var arg in args)
        {
            value = arg.Evaluate(scope);
            if (!Truthy(value))
            {
                return value;
            }
        }
        return value;
    }

    /// <summary>a &lt; b, or a &lt; b &lt; c (between) with three arguments.</summary>
    private static bool Chain(LogicNode[] args, in LogicScope scope, Func<int, bool> holds)
    {
        var left = args[0].Evaluate(scope);
        for (var i = 1; i < args.Length; i++)
        {
            var right = args[i].Evaluate(scope);
            if (Compare(left, right) is not { } c || !holds(c))
            {
                return false;
            }
            left = right;
        }
        return true;
    }

    private static object? In(LogicNode[] args, in LogicScope scope)
    {
        var needle = args[0].Evaluate(scope);
        return args[1].Evaluate(scope) switch
        {
            string haystack => Bool(haystack.Contains(ToText(needle), StringComparison.Ordinal)),
            object?[] items => Bool(items.Any(item => StrictEquals(item, needle))),
            _ => False,
        };
    }

    private static object? Substr(LogicNode[] args, in LogicScope scope)
    {
        var text = ToText(args[0].Evaluate(scope));
        var start = (int)ToNumber(args[1].Evaluate(scope));
        start = start < 0 ? Math.Max(text.Length + start, 0) : Math.Min(start, text.Length);
        if (args.Length < 3)
        {
            return text[start..];
        }
        var length = (int)ToNumber(args[2].Evaluate(scope));
        var end = length < 0 ? text.Length + length : start + length;
        return end <= start ? "" : text[start..Math.Min(end, text.Length)];
    }

    private static List<(object? Item, object? Result)> Each(LogicNode[] args, in LogicScope scope)
    {
        var results = new List<(object?, object?)>();
        if (args[0].Evaluate(scope) is object?[] items)
        {
            foreach (var item in items)
            {
                results.Add((item, args[1].Evaluate(scope.With(item))));
            }
        }
        return results;
    }

    private static object? Reduce(LogicNode[] args, in LogicScope scope)
    {
        var accumulator = args.Length > 2 ? args[2].Evaluate(scope) : null;
        if (args[0].Evaluate(scope) is object?[] items)
        {
            foreach (var item in items)
            {
                var data = new Dictionary<string, object?>(StringComparer.Ordinal) { ["current"] = item, ["accumulator"] = accumulator };
                accumulator = args[1].Evaluate(scope.With(data));
            }
        }
        return accumulator;
    }
}
