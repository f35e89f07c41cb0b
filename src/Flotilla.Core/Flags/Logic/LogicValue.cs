using System.Globalization;
using System.Text.Json;
using System.Text.Json.Nodes;

namespace Flotilla.Flags.Logic;

/// <summary>
/// The values JSON Logic computes with: null, bool, double, string, <c>object?[]</c> and
/// <see cref="IReadOnlyDictionary{TKey,TValue}"/> of string to value. Truthiness, loose equality
/// and conversions follow json-logic-js (JavaScript's rules), which flagd's engines follow too.
/// </summary>
internal static class LogicValue
{
    public static readonly object True = true;
    public static readonly object False = false;

    public static object Bool(bool value) => value ? True : False;

    public static bool Truthy(object? value) => value switch
    {
        null => false,
        bool b => b,
        double d => d != 0 && !double.IsNaN(d),
        string s => s.Length > 0,
        object?[] a => a.Length > 0,
        _ => true,
    };

    public static double ToNumber(object? value) => value switch
    {
        null => 0,
        bool b => b ? 1 : 0,
        double d => d,
        string s => ParseNumber(s),
        object?[] { Length: 0 } => 0,
        object?[] { Length: 1 } a => ToNumber(a[0]),
        _ => double.NaN,
    };

    private static double ParseNumber(string text)
    {
        var trimmed = text.Trim();
        if (trimmed.Length == 0)
        {
            return 0;
        }
        return double.TryParse(trimmed, NumberStyles.Float, CultureInfo.InvariantCulture, out var d) ? d : double.NaN;
    }

    /// <summary>JavaScript's String(value): how cat, in and variant names see a value.</summary>
    public static string ToText(object? value) => value switch
    {
        null => "null",
        bool b => b ? "true" : "false",
        double d => FormatNumber(d),
        string s => s,
        object?[] a => string.Join(",", a.Select(x => x is null ? "" : ToText(x))),
        _ => "[object Object]",
    };

    public static string FormatNumber(double d) =>
        d == Math.Floor(d) && Math.Abs(d) < 1e21 ? d.ToString("0", CultureInfo.InvariantCulture) : d.ToString("R", CultureInfo.InvariantCulture);

    /// <summary>JavaScript's ==.</summary>
    public static bool LooseEquals(object? a, object? b)
    {
        switch (a, b)
        {
            case (null, null):
                return true;
            case (null, _) or (_, null):
                return false;
            case (double x, double y):
                return x == y;
            case (string x, string y):
                return x == y;
            case (bool x, bool y):
                return x == y;
            case (bool x, _):
                return LooseEquals(x ? 1.0 : 0.0, b);
            case (_, bool y):
                return LooseEquals(a, y ? 1.0 : 0.0);
            case (double x, string y):
                return x == ParseNumber(y);
            case (string x, double y):
                return ParseNumber(x) == y;
            case (object?[] x, string or double):
                return LooseEquals(ToText(x), b);
            case (string or double, object?[] y):
                return LooseEquals(a, ToText(y));
            default:
                return ReferenceEquals(a, b);
        }
    }

    /// <summary>JavaScript's ===.</summary>
    public static bool StrictEquals(object? a, object? b) => (a, b) switch
    {
        (null, null) => true,
        (double x, double y) => x == y,
        (string x, string y) => x == y,
        (bool x, bool y) => x == y,
        _ => ReferenceEquals(a, b),
    };

    /// <summary>JavaScript's relational comparison: strings by code unit when both are strings, else as numbers. Null when undefined (NaN).</summary>
    public static int? Compare(object? a, object? b)
    {
        if (a is string x && b is string y)
        {
            return string.CompareOrdinal(x, y);
        }
        var l = ToNumber(a);
        var r = ToNumber(b);
        return double.IsNaN(l) || double.IsNaN(r) ? null : l.CompareTo(r);
    }

    /// <summary>A JSON node as a logic value (numbers as double, objects as ordinal dictionaries).</summary>
    public static object? FromJson(JsonNode? node) => node switch
    {
        null => null,
        JsonObject o => o.ToDictionary(p => p.Key, p => FromJson(p.Value), StringComparer.Ordinal),
        JsonArray a => a.Select(FromJson).ToArray(),
        JsonValue v => v.GetValueKind() switch
        {
            JsonValueKind.True => True,
            JsonValueKind.False => False,
            JsonValueKind.Number => v.GetValue<double>(),
            JsonValueKind.String => v.GetValue<string>(),
            _ => null,
        },
        _ => null,
    };

    /// <summary>A JSON element (a request's evaluation context) as a logic value.</summary>
    public static object? FromJson(JsonElement element) => element.ValueKind switch
    {
        JsonValueKind.Object => element.EnumerateObject().ToDictionary(p => p.Name, p => FromJson(p.Value), StringComparer.Ordinal),
        JsonValueKind.Array => element.EnumerateArray().Select(FromJson).ToArray(),
        JsonValueKind.String => element.GetString(),
        JsonValueKind.Number => element.GetDouble(),
        JsonValueKind.True => True,
        JsonValueKind.False => False,
        _ => null,
    };

    public static void Write(Utf8JsonWriter writer, object? value)
    {
        switch (value)
        {
            case null:
                writer.WriteNullValue();
                break;
            case bool b:
                writer.WriteBooleanValue(b);
                break;
            case double d when d == Math.Floor(d) && Math.Abs(d) < 9e15:
                writer.WriteNumberValue((long)d);
                break;
            case double d:
                writer.WriteNumberValue(d);
                break;
            case string s:
                writer.WriteStringValue(s);
                break;
            case object?[] a:
                writer.WriteStartArray();
                foreach (var item in a)
                {
                    Write(writer, item);
                }
                writer.WriteEndArray();
                break;
            case IReadOnlyDictionary<string, object?> o:
                writer.WriteStartObject();
                foreach (var (key, item) in o)
                {
                    writer.WritePropertyName(key);
                    Write(writer, item);
                }
                writer.WriteEndObject();
                break;
            default:
                writer.WriteStringValue(value.ToString());
                break;
        }
    }

    /// <summary>The kind of a variant value as OpenFeature types it.</summary>
    public static string KindOf(object? value) => value switch
    {
        bool => "boolean",
        string => "string",
        double => "number",
        IReadOnlyDictionary<string, object?> => "object",
        object?[] => "array",
        _ => "null",
    };
}
