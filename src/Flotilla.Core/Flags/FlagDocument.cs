using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Flags.Logic;

namespace Flotilla.Flags;

/// <summary>
/// Reads and checks flag files in flagd's format (<c>flags</c>, <c>$evaluators</c>, <c>metadata</c>)
/// and compiles them into a <see cref="FlagSet"/>. What flagd refuses too (a flag that is not an
/// object, a default variant that is not a variant, ...) is an error and refuses the set whole;
/// what flagd loads and serves (a broken targeting rule, an unknown key, ...) is a warning, and the
/// set is served as flagd serves it, unless the spec asks for <c>strict: true</c>. Every problem is
/// reported by path, all at once; the spec's FlagFile (Model) adds file, line and column.
/// </summary>
public static class FlagDocument
{
    private static readonly string[] RootKeys = ["$schema", "flags", "$evaluators", "metadata"];
    private static readonly string[] FlagKeys = ["state", "variants", "defaultVariant", "targeting", "metadata"];

    /// <summary>
    /// Compiles a document whose problems are reported by path only (a change made through the API):
    /// <paramref name="error"/> for what refuses it, <paramref name="warning"/> for what flagd serves anyway.
    /// </summary>
    public static FlagSet Compile(JsonObject document, Action<string, string> error, Action<string, string> warning)
    {
        foreach (var (key, _) in document.Where(p => !RootKeys.Contains(p.Key)))
        {
            warning(key, $"unknown key '{key}' (flagd ignores it); valid keys here: {string.Join(", ", RootKeys)}");
        }
        var evaluators = document["$evaluators"] as JsonObject ?? [];
        if (document.ContainsKey("$evaluators") && document["$evaluators"] is not JsonObject)
        {
            error("$evaluators", "must be an object of named rules: {\"emailFromShop\": {\"ends_with\": [{\"var\": \"email\"}, \"@shop.example\"]}}");
        }
        var setMetadata = Metadata(document["metadata"], "metadata", error);
        var flags = new Dictionary<string, Flag>(StringComparer.Ordinal);
        if (document["flags"] is not JsonObject declared)
        {
            error("flags", document.ContainsKey("flags") ? "must be an object of flags by key" : "missing: declare the flags under \"flags\": {...}");
            return new FlagSet(flags, document);
        }
        foreach (var (key, node) in declared)
        {
            var path = $"flags.{key}";
            if (key.Length == 0 || key.Any(c => c == '/' || char.IsWhiteSpace(c)))
            {
                error(path, $"'{key}' is not a usable flag key: it goes in a URL path, so no '/' and no spaces");
                continue;
            }
            if (ReadFlag(key, node, path, evaluators, setMetadata, error, warning) is { } flag)
            {
                flags[key] = flag;
            }
        }
        return new FlagSet(flags, document);
    }

    /// <summary>
    /// Compiles a document the control plane already checked (what the router is sent); a problem
    /// here is a bug or a version skew, reported whole as an <see cref="InvalidOperationException"/>.
    /// </summary>
    public static FlagSet CompileServed(string document)
    {
        var errors = new List<string>();
        var parsed = JsonNode.Parse(document) as JsonObject ?? throw new InvalidOperationException("the flag document is not a JSON object");
        var set = Compile(parsed, (path, message) => errors.Add($"{path}: {message}"), (_, _) => { });
        return errors.Count == 0 ? set : throw new InvalidOperationException($"the flag document was refused: {string.Join("; ", errors)}");
    }

    /// <summary>A base document with another's flags laid over it: a flag of the same key is replaced whole; evaluators and metadata merge.</summary>
    public static JsonObject Merge(JsonObject baseline, JsonObject overlay)
    {
        var merged = (JsonObject)baseline.DeepClone();
        foreach (var part in new[] { "flags", "$evaluators", "metadata" })
        {
            if (overlay[part] is not JsonObject over)
            {
                continue;
            }
            if (merged[part] is not JsonObject target)
            {
                merged[part] = target = [];
            }
            foreach (var (key, value) in over)
            {
                target[key] = value?.DeepClone();
            }
        }
        return merged;
    }

    private static Flag? ReadFlag(string key, JsonNode? node, string path, JsonObject evaluators, IReadOnlyDictionary<string, object?> setMetadata,
        Action<string, string> error, Action<string, string> warning)
    {
        if (node is not JsonObject definition)
        {
            error(path, "a flag is an object: {\"state\": \"ENABLED\", \"variants\": {...}, \"defaultVariant\": \"...\"}");
            return null;
        }
        var problems = 0;
        void Problem(string at, string message)
        {
            problems++;
            error(at, message);
        }
        foreach (var (unknown, _) in definition.Where(p => !FlagKeys.Contains(p.Key)))
        {
            warning($"{path}.{unknown}", $"unknown key '{unknown}' (flagd ignores it); valid keys here: {string.Join(", ", FlagKeys)}");
        }
        var state = definition["state"] is JsonValue s && s.TryGetValue<string>(out var text) ? text : null;
        if (state is null && definition["state"] is not null)
        {
            Problem($"{path}.state", $"must be \"ENABLED\" or \"DISABLED\", got {definition["state"]!.ToJsonString()} (flagd refuses the file for it too)");
        }
        else if (state is not ("ENABLED" or "DISABLED"))
        {
            // flagd disables a flag only for "DISABLED": anything else, or nothing, serves it.
            warning($"{path}.state", $"{(state is null ? "missing" : $"\"{state}\" is not a state")}: flagd serves the flag as enabled; write \"state\": \"ENABLED\" or \"DISABLED\"");
        }
        var variants = Variants(definition["variants"], $"{path}.variants", definition.ContainsKey("variants"), Problem, warning);
        string? defaultVariant = null;
        if (definition["defaultVariant"] is { } defaultNode)
        {
            if (defaultNode is JsonValue d && d.TryGetValue<string>(out var name) && variants is not null && variants.ContainsKey(name))
            {
                defaultVariant = name;
            }
            else if (variants is not null)
            {
                Problem($"{path}.defaultVariant", $"{defaultNode.ToJsonString()} is not a variant of this flag; variants: {string.Join(", ", variants.Keys)} (or null: the caller's code default)");
            }
        }
        LogicNode? targeting = null;
        if (definition.ContainsKey("targeting") && definition["targeting"] is not JsonObject { Count: 0 })
        {
            if (definition["targeting"] is not JsonObject)
            {
                // flagd runs any JSON as a rule: a string names a variant, null is the default (reason DEFAULT, not STATIC).
                warning($"{path}.targeting", $"must be a JSON Logic rule (an object), or {{}} for none; flagd evaluates {definition["targeting"]?.ToJsonString() ?? "null"} as a rule that yields itself");
            }
            var resolved = ResolveReferences(definition["targeting"], evaluators, $"{path}.targeting", [], warning);
            targeting = new LogicCompiler(warning).Compile(resolved, $"{path}.targeting");
        }
        var metadata = Metadata(definition["metadata"], $"{path}.metadata", Problem, warning);
        if (problems > 0 || variants is null)
        {
            return null;
        }
        var merged = new Dictionary<string, object?>(setMetadata, StringComparer.Ordinal);
        foreach (var (k, v) in metadata)
        {
            merged[k] = v;
        }
        return new Flag(key, state != "DISABLED", variants, defaultVariant, targeting, (JsonObject)definition.DeepClone(), merged);
    }

    private static Dictionary<string, object?>? Variants(JsonNode? node, string path, bool present, Action<string, string> error, Action<string, string> warning)
    {
        if (node is not JsonObject { Count: > 0 } declared)
        {
            error(path, present ? "must be an object of at least one variant: {\"on\": true, \"off\": false}" : "missing: \"variants\": {\"on\": true, \"off\": false}");
            return null;
        }
        var variants = new Dictionary<string, object?>(StringComparer.Ordinal);
        foreach (var (name, value) in declared)
        {
            var converted = LogicValue.FromJson(value);
            if (converted is null or object?[])
            {
                warning($"{path}.{name}", $"a variant's value is a boolean, string, number or object, got {(converted is null ? "null" : "a list")}; flagd serves it as it is, and typed SDK calls get TYPE_MISMATCH");
            }
            variants[name] = converted;
        }
        var kinds = variants.Values.Select(LogicValue.KindOf).Distinct().ToList();
        if (kinds.Count > 1)
        {
            warning(path, $"all variants of a flag should have one type (OpenFeature evaluates a flag as one type); these mix {string.Join(" and ", kinds)}, so some typed evaluations get TYPE_MISMATCH");
        }
        return variants;
    }

    private static Dictionary<string, object?> Metadata(JsonNode? node, string path, Action<string, string> error, Action<string, string>? warning = null)
    {
        var metadata = new Dictionary<string, object?>(StringComparer.Ordinal);
        if (node is null)
        {
            return metadata;
        }
        if (node is not JsonObject declared)
        {
            error(path, "must be an object of names to strings, numbers or booleans");
            return metadata;
        }
        foreach (var (key, value) in declared)
        {
            if (value is JsonValue v && v.GetValueKind() is JsonValueKind.String or JsonValueKind.Number or JsonValueKind.True or JsonValueKind.False)
            {
                metadata[key] = LogicValue.FromJson(v);
            }
            else
            {
                (warning ?? error)($"{path}.{key}", "metadata values are strings, numbers or booleans; flagd passes this one on as it is");
                metadata[key] = LogicValue.FromJson(value);
            }
        }
        return metadata;
    }

    /// <summary>
    /// Replaces each <c>{"$ref": "name"}</c> by a copy of that evaluator (itself resolved), as flagd
    /// does. A reference to no evaluator, or one that refers back to itself, stays as it is: the
    /// compiler warns, and evaluating it is that flag's PARSE_ERROR, as in flagd.
    /// </summary>
    private static JsonNode? ResolveReferences(JsonNode? node, JsonObject evaluators, string path, HashSet<string> resolving, Action<string, string> warning)
    {
        switch (node)
        {
            case JsonObject { Count: 1 } reference when reference.First().Key == "$ref":
                var name = reference["$ref"] is JsonValue v && v.TryGetValue<string>(out var text) ? text : null;
                if (name is null || !evaluators.TryGetPropertyValue(name, out var evaluator))
                {
                    warning($"{path}.$ref", $"unknown evaluator {reference["$ref"]?.ToJsonString() ?? "null"}; declared under \"$evaluators\": {(evaluators.Count == 0 ? "none" : string.Join(", ", evaluators.Select(e => e.Key)))}; flagd keeps the reference, and evaluating it is this flag's PARSE_ERROR");
                    return reference.DeepClone();
                }
                if (!resolving.Add(name))
                {
                    warning($"{path}.$ref", $"evaluator '{name}' refers to itself (through {string.Join(" -> ", resolving)}); the reference is left unresolved");
                    return reference.DeepClone();
                }
                var resolved = ResolveReferences(evaluator?.DeepClone(), evaluators, path, resolving, warning);
                resolving.Remove(name);
                return resolved;
            case JsonObject obj:
                var copy = new JsonObject();
                foreach (var (key, value) in obj)
                {
                    copy[key] = ResolveReferences(value, evaluators, $"{path}.{key}", resolving, warning);
                }
                return copy;
            case JsonArray array:
                var items = new JsonArray();
                var i = 0;
                foreach (var item in array)
                {
                    items.Add(ResolveReferences(item, evaluators, $"{path}[{i++}]", resolving, warning));
                }
                return items;
            default:
                return node?.DeepClone();
        }
    }
}
