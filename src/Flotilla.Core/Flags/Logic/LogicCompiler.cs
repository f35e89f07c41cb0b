using System.Text.Json.Nodes;

namespace Flotilla.Flags.Logic;

/// <summary>
/// Compiles a JSON Logic rule into <see cref="LogicNode"/>s once, when flags load, and reports
/// every operator it does not know and every argument list it cannot use, by path, so a bad rule
/// is refused at apply instead of failing at evaluation time.
/// </summary>
internal sealed class LogicCompiler(Action<string, string> error)
{
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
                error(path, obj.Count == 0
                    ? "an empty object is not a rule; write a JSON Logic operation such as {\"==\": [{\"var\": \"country\"}, \"NL\"]}"
                    : $"a JSON Logic operation has exactly one key (the operator); this object has {obj.Count}: {string.Join(", ", obj.Select(p => p.Key))}");
                return new LiteralNode(null);
            default:
                return new LiteralNode(LogicValue.FromJson(node));
        }
    }

    private LogicNode Operation(string name, JsonNode? value, string path)
    {
        var argNodes = value is JsonArray list ? list.ToList() : [value];
        if (name == "$ref")
        {
            error(path, $"unknown evaluator '{value}': declare it under \"$evaluators\"");
            return new LiteralNode(null);
        }
        var args = argNodes.Select((a, i) => Compile(a, value is JsonArray ? $"{path}[{i}]" : path)).ToArray();
        if (name == "var" && args is [LiteralNode { Value: string or double or null } literal, ..] && args.Length <= 2)
        {
            return new VarNode(VarNode.Split(literal.Value is null ? "" : LogicValue.ToText(literal.Value)), args.Length > 1 ? args[1] : null);
        }
        if (name == "fractional")
        {
            return Fractional(args, path);
        }
        if (!StandardOperators.All.TryGetValue(name, out var spec) && !FlagdOperators.All.TryGetValue(name, out spec))
        {
            error(path, $"unknown operator '{name}'; operators: {string.Join(", ", OperatorNames)}");
            return new LiteralNode(null);
        }
        if (args.Length < spec.MinArgs || args.Length > spec.MaxArgs)
        {
            var wanted = spec.MinArgs == spec.MaxArgs ? $"{spec.MinArgs}" : spec.MaxArgs == int.MaxValue ? $"at least {spec.MinArgs}" : $"{spec.MinArgs} to {spec.MaxArgs}";
            error(path, $"'{name}' takes {wanted} argument{(wanted == "1" ? "" : "s")}, got {args.Length}");
            return new LiteralNode(null);
        }
        if (name == "sem_ver")
        {
            CheckSemVer(args, path);
        }
        return new OperationNode(name, args, spec.Body);
    }

    private FractionalNode Fractional(LogicNode[] args, string path)
    {
        if (args.Length == 0)
        {
            error(path, "'fractional' needs buckets: [[\"on\", 20], [\"off\", 80]], optionally after a bucketing value such as {\"var\": \"email\"}");
            return new FractionalNode(args, null, false);
        }
        // A first argument that is not a literal list is the bucketing value (flagd decides by its type at evaluation).
        var bucketByGiven = args[0] is not (LiteralNode { Value: object?[] } or ArrayNode);
        var buckets = args.Skip(bucketByGiven ? 1 : 0).ToArray();
        if (buckets.Length == 0)
        {
            error(path, "'fractional' needs at least one bucket after the bucketing value");
        }
        if (buckets.All(b => b is LiteralNode))
        {
            var constant = FractionalNode.Buckets(buckets.Select(b => ((LiteralNode)b).Value).ToArray(), out var problem);
            if (constant is null)
            {
                error(path, problem!);
            }
            return new FractionalNode(args, constant, bucketByGiven);
        }
        return new FractionalNode(args, null, bucketByGiven);
    }

    private void CheckSemVer(LogicNode[] args, string path)
    {
        if (args[1] is LiteralNode { Value: var op } && (op is not string text || !FlagdOperators.SemVerOperators.Contains(text)))
        {
            error($"{path}[1]", $"'{LogicValue.ToText(op)}' is not a sem_ver operator; use one of {string.Join(" ", FlagdOperators.SemVerOperators)}");
        }
        if (args[2] is LiteralNode { Value: var version } && (version is not string v || GoSemVer.Parse(v) is null))
        {
            error($"{path}[2]", $"'{LogicValue.ToText(version)}' is not a semantic version (MAJOR.MINOR.PATCH, e.g. \"2.1.0\")");
        }
    }
}
