using System.Text.Json;
using Flotilla.Flags.Logic;

namespace Flotilla.Flags;

/// <summary>
/// What a flag is evaluated for: OpenFeature's evaluation context, a targeting key and attributes.
/// Read from an OFREP request body (<c>{"context": {...}}</c>); anything else is INVALID_CONTEXT.
/// </summary>
public sealed class EvaluationContext(IReadOnlyDictionary<string, object?> values)
{
    public static EvaluationContext Empty { get; } = new(new Dictionary<string, object?>(StringComparer.Ordinal));

    public IReadOnlyDictionary<string, object?> Values { get; } = values;

    public string? TargetingKey => Values.TryGetValue("targetingKey", out var key) ? key as string : null;

    /// <summary>Parses an OFREP request body; an empty body is an empty context.</summary>
    public static bool TryParseRequest(ReadOnlySpan<byte> body, out EvaluationContext context, out string error)
    {
        context = Empty;
        error = "";
        if (body.Trim(" \t\r\n"u8).IsEmpty)
        {
            return true;
        }
        try
        {
            using var document = JsonDocument.Parse(body.ToArray());
            if (document.RootElement.ValueKind != JsonValueKind.Object)
            {
                error = "the request body must be a JSON object: {\"context\": {...}}";
                return false;
            }
            if (!document.RootElement.TryGetProperty("context", out var element) || element.ValueKind == JsonValueKind.Null)
            {
                return true;
            }
            return TryFrom(element, out context, out error);
        }
        catch (JsonException e)
        {
            error = $"the request body is not valid JSON: {e.Message.Split(" LineNumber:")[0]}";
            return false;
        }
    }

    /// <summary>A context from its JSON object form (the CLI's --context).</summary>
    public static bool TryFrom(JsonElement element, out EvaluationContext context, out string error)
    {
        context = Empty;
        if (element.ValueKind != JsonValueKind.Object)
        {
            error = $"the evaluation context must be a JSON object, got {element.ValueKind.ToString().ToLowerInvariant()}";
            return false;
        }
        var values = (IReadOnlyDictionary<string, object?>)LogicValue.FromJson(element)!;
        if (values.TryGetValue("targetingKey", out var key) && key is not (string or null))
        {
            error = "targetingKey must be a string";
            return false;
        }
        context = new EvaluationContext(values);
        error = "";
        return true;
    }
}
