using System.Text.Json.Nodes;

namespace Flotilla.Flags.Logic;

/// <summary>
/// Compiles a JSON Logic rule into <see cref="LogicNode"/>s once, when flags load. A rule flagd
/// would load is always compiled, as flagd runs it; what looks wrong in it (an unknown operator, a
/// wrong number of arguments, a sem_ver operator or version flagd cannot read, a fractional split
/// that is always null) is reported by path as a warning, saying what flagd does with it, so a
/// team sees it at validate and can refuse it with <c>strict: true</c>.
/// </summary>
internal sealed class LogicCompiler(Action<string, string> warning)
{
    private const string Null = "flagd answers null here, so the flag falls back to its default variant";

    public static IEnumerable<string> OperatorNames => StandardOperators.All.Keys.Concat(FlagdOperators.All.Keys).Append("fractional");

    public LogicNode Compile(JsonNode? node, string path)
    {
        switch (node)
        {
            case JsonArray array:
                var items = array.Select((item, i) => Compile(item, $"{path}[{i}]")).ToArray();
                return items.All(i => i.IsConstant) ? new LiteralNode(items.Select(i => ((LiteralNode)i).Value).ToArray()) : new ArrayNode(items);
            case JsonObject obj when obj.Count == 1:
                var (name, value) = obj.First();
                return Operation(name, value, $"{path}.{name}");
            case JsonObject obj:
                // flagd's JSON Logic takes an object that is not one operation as a plain value.
                warning(path, obj.Count == 0
                    ? "an empty object is not a rule (flagd takes it as the value {}); write a JSON Logic operation such as {\"==\": [{\"var\": \"country\"}, \"NL\"]}"
                    : $"a JSON Logic operation has exactly one key (the operator); this object has {obj.Count}: {string.Join(", ", obj.Select(p => p.Key))} (flagd takes it as a plain value)");
                return new LiteralNode(LogicValue.FromJson(obj));
            default:
                return new LiteralNode(LogicValue.FromJson(node));
        }
    }

    private LogicNode Operation(string name, JsonNode? value, string path)
    {
        if (name == "$ref")
        {
            // A reference left after resolution was warned about there; flagd's engine knows no "$ref" operator.
            return new BrokenNode($"{{\"$ref\": {value?.ToJsonString() ?? "null"}}} names no evaluator it can use");
        }
        if (name == "fractional")
        {
            return Fractional(value, path);
        }
        if (FlagdOperators.All.TryGetValue(name, out var flagd))
        {
            return FlagdOperation(name, value, path, flagd.Arguments, flagd.Body);
        }
        var argNodes = value is JsonArray list ? list.ToList() : [value];
        var args = argNodes.Select((a, i) => Compile(a, value is JsonArray ? $"{path}[{i}]" : path)).ToArray();
        if (name == "var" && args is [LiteralNode { Value: string or double or null } literal, ..] && args.Length <= 2)
        {
            return new VarNode(VarNode.Split(literal.Value is null ? "" : LogicValue.ToText(literal.Value)), args.Length > 1 ? args[1] : null);
        }
        if (!StandardOperators.All.TryGetValue(name, out var spec))
        {
            warning(path, $"unknown operator '{name}' (evaluating it is this flag's PARSE_ERROR, as in flagd); operators: {string.Join(", ", OperatorNames)}");
            return new BrokenNode($"unknown operator '{name}'");
        }
        if (args.Length < spec.MinArgs || args.Length > spec.MaxArgs)
        {
            var wanted = Wanted(spec.MinArgs, spec.MaxArgs);
            warning(path, $"'{name}' takes {wanted}, got {args.Length} (evaluating it is this flag's PARSE_ERROR)");
            return new BrokenNode($"'{name}' takes {wanted}, got {args.Length}");
        }
        return new OperationNode(name, args, spec.Body);
    }

    private static string Wanted(int min, int max)
    {
        var count = min == max ? $"{min}" : max == int.MaxValue ? $"at least {min}" : $"{min} to {max}";
        return $"{count} argument{(count == "1" ? "" : "s")}";
    }

    /// <summary>A flagd operator gets its arguments as one evaluated list: the rule's array, or what a single expression yields.</summary>
    private LogicNode FlagdOperation(string name, JsonNode? value, string path, int arguments, FlagdBody body)
    {
        if (value is not JsonArray list)
        {
            warning(path, $"'{name}' takes a list of {arguments} arguments; flagd evaluates this one value and answers null unless it is such a list");
            return new FlagdOperationNode(null, Compile(value, path), body);
        }
        var items = list.Select((a, i) => Compile(a, $"{path}[{i}]")).ToArray();
        if (items.Length != arguments)
        {
            warning(path, $"'{name}' takes {arguments} arguments, got {items.Length}: {Null}");
        }
        else if (name == "sem_ver")
        {
            CheckSemVer(items, path);
        }
        return new FlagdOperationNode(items, null, body);
    }

    private FractionalNode Fractional(JsonNode? value, string path)
    {
        if (value is not JsonArray list)
        {
            warning(path, "'fractional' takes a list: [[\"on\", 20], [\"off\", 80]], optionally after a bucketing value such as {\"var\": \"email\"}; flagd evaluates this one value and answers null unless it is such a list");
            return new FractionalNode(null, Compile(value, path));
        }
        var items = list.Select((a, i) => Compile(a, $"{path}[{i}]")).ToArray();
        if (items.Length == 0)
        {
            warning(path, $"'fractional' needs buckets: [[\"on\", 20], [\"off\", 80]]; {Null}");
            return new FractionalNode(items, null);
        }
        // A first item that is not a literal list is the bucketing value (flagd decides by what it evaluates to).
        var bucketByGiven = items[0] is not LiteralNode { Value: object?[] };
        var buckets = items.Skip(bucketByGiven ? 1 : 0).ToArray();
        if (bucketByGiven && items[0] is LiteralNode { Value: not (string or null) })
        {
            warning($"{path}[0]", $"the bucketing value is a string (or an expression yielding one); this one is a bucket in flagd's reading, and the split then fails: {Null}");
        }
        else if (buckets.Length == 0)
        {
            warning(path, $"'fractional' needs at least one bucket after the bucketing value; {Null}");
        }
        else if (buckets.All(b => b is LiteralNode))
        {
            CheckBuckets(buckets.Select(b => ((LiteralNode)b).Value).ToArray(), path);
        }
        return new FractionalNode(items, null);
    }

    private void CheckBuckets(object?[] values, string path)
    {
        if (FractionalNode.Buckets(values, out var problem) is not { } buckets)
        {
            warning(path, $"{problem}; {Null}");
            return;
        }
        if (values.Any(v => v is object?[] { Length: > 1 } b && b[1] is double and < 0))
        {
            warning(path, "a negative weight counts as 0 (flagd clamps it, so that bucket is never chosen)");
        }
        if (buckets.Sum(b => (long)b.Weight) == 0)
        {
            warning(path, $"the weights add up to 0, so no bucket can be chosen; {Null}");
        }
    }

    private void CheckSemVer(LogicNode[] args, string path)
    {
        if (args[1] is LiteralNode { Value: var op } && (op is not string text || !FlagdOperators.SemVerOperators.Contains(text)))
        {
            warning($"{path}[1]", $"'{LogicValue.ToText(op)}' is not a sem_ver operator (use one of {string.Join(" ", FlagdOperators.SemVerOperators)}); {Null}");
        }
        if (args[2] is LiteralNode { Value: var version } && FlagdOperators.Version(version) is null)
        {
            warning($"{path}[2]", $"'{LogicValue.ToText(version)}' is not a version flagd can read (MAJOR[.MINOR[.PATCH]][-PRE][+BUILD], e.g. \"2.1.0\"); {Null}");
        }
        if (args[0] is LiteralNode { Value: var actual } && FlagdOperators.Version(actual) is null)
        {
            warning($"{path}[0]", $"'{LogicValue.ToText(actual)}' is not a version flagd can read; {Null}");
        }
    }
}
