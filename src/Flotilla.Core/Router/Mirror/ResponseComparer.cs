using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;

namespace Flotilla.Router.Mirror;

/// <summary>One way two answers differ: where (status, header:X, a JSON path, body) and both values, shortened.</summary>
public sealed record Difference(string Path, string Stable, string Candidate);

/// <summary>
/// Compares two answers to the same request: status, the chosen headers, and the body. JSON is
/// compared field by field (arrays element by element, or as sets); any other body byte for
/// byte, or by hash when it was too big to keep. Paths are reported with array indices as
/// <c>[*]</c>, so the same field in different elements counts as one field.
/// </summary>
public static partial class ResponseComparer
{
    private const int ShownChars = 120;

    public static List<Difference> Compare(Capture stable, Capture candidate, MirrorPolicy policy)
    {
        var differences = new List<Difference>();
        if (stable.Status != candidate.Status)
        {
            differences.Add(new("status", stable.Status.ToString(System.Globalization.CultureInfo.InvariantCulture), candidate.Status.ToString(System.Globalization.CultureInfo.InvariantCulture)));
        }
        foreach (var header in policy.Headers)
        {
            var a = stable.Headers.GetValueOrDefault(header.ToLowerInvariant()) ?? "(absent)";
            var b = candidate.Headers.GetValueOrDefault(header.ToLowerInvariant()) ?? "(absent)";
            if (a != b)
            {
                differences.Add(new($"header:{header}", Shown($"header:{header}", a), Shown($"header:{header}", b)));
            }
        }
        if (stable.Hashed || candidate.Hashed)
        {
            if (stable.BodyHash != candidate.BodyHash)
            {
                differences.Add(new("body (hashed: larger than maxBodyBytes)", $"{stable.Length} bytes, sha256 {stable.BodyHash[..12]}", $"{candidate.Length} bytes, sha256 {candidate.BodyHash[..12]}"));
            }
        }
        else if (Json(stable.Body!) is { } a && Json(candidate.Body!) is { } b)
        {
            using (a)
            using (b)
            {
                CompareJson("$", a.RootElement, b.RootElement, policy.ArraysAsSets, differences);
            }
        }
        else if (!stable.Body!.AsSpan().SequenceEqual(candidate.Body))
        {
            differences.Add(new("body", Shown("body", Encoding.UTF8.GetString(stable.Body!)), Shown("body", Encoding.UTF8.GetString(candidate.Body!))));
        }
        return differences.Where(d => !Ignored(d.Path, policy.Ignore)).ToList();
    }

    private static JsonDocument? Json(byte[] body)
    {
        var start = body.AsSpan().TrimStart(" \t\r\n"u8);
        if (start.IsEmpty || start[0] is not ((byte)'{' or (byte)'['))
        {
            return null;
        }
        try
        {
            return JsonDocument.Parse(body);
        }
        catch (JsonException)
        {
            return null;
        }
    }

    private static void CompareJson(string path, JsonElement a, JsonElement b, bool arraysAsSets, List<Difference> differences)
    {
        if (a.ValueKind != b.ValueKind)
        {
            differences.Add(new(path, Shown(path, a.GetRawText()), Shown(path, b.GetRawText())));
            return;
        }
        switch (a.ValueKind)
        {
            case JsonValueKind.Object:
                var names = a.EnumerateObject().Select(p => p.Name).Union(b.EnumerateObject().Select(p => p.Name), StringComparer.Ordinal);
                foreach (var name in names)
                {
                    var child = $"{path}.{name}";
                    var inA = a.TryGetProperty(name, out var va);
                    var inB = b.TryGetProperty(name, out var vb);
                    if (inA && inB)
                    {
                        CompareJson(child, va, vb, arraysAsSets, differences);
                    }
                    else
                    {
                        differences.Add(new(child, inA ? Shown(child, va.GetRawText()) : "(absent)", inB ? Shown(child, vb.GetRawText()) : "(absent)"));
                    }
                }
                break;
            case JsonValueKind.Array when arraysAsSets:
                var left = a.EnumerateArray().Select(e => e.GetRawText()).Order(StringComparer.Ordinal).ToList();
                var right = b.EnumerateArray().Select(e => e.GetRawText()).Order(StringComparer.Ordinal).ToList();
                if (!left.SequenceEqual(right))
                {
                    differences.Add(new($"{path}[*]", Shown(path, string.Join(", ", left.Except(right))), Shown(path, string.Join(", ", right.Except(left)))));
                }
                break;
            case JsonValueKind.Array:
                var (x, y) = (a.EnumerateArray().ToList(), b.EnumerateArray().ToList());
                for (var i = 0; i < Math.Max(x.Count, y.Count); i++)
                {
                    var child = $"{path}[{i}]";
                    if (i < x.Count && i < y.Count)
                    {
                        CompareJson(child, x[i], y[i], arraysAsSets, differences);
                    }
                    else
                    {
                        differences.Add(new(child, i < x.Count ? Shown(child, x[i].GetRawText()) : "(absent)", i < y.Count ? Shown(child, y[i].GetRawText()) : "(absent)"));
                    }
                }
                break;
            case JsonValueKind.Number when a.TryGetDecimal(out var stableNumber) && b.TryGetDecimal(out var candidateNumber):
                // 5 and 5.0 are the same number, whichever serializer wrote them.
                if (stableNumber != candidateNumber)
                {
                    differences.Add(new(path, Shown(path, a.GetRawText()), Shown(path, b.GetRawText())));
                }
                break;
            default:
                if (a.GetRawText() != b.GetRawText())
                {
                    differences.Add(new(path, Shown(path, a.GetRawText()), Shown(path, b.GetRawText())));
                }
                break;
        }
    }

    /// <summary>The path with array indices as [*]: the field, whichever element it is in.</summary>
    public static string Normalize(string path) => Index().Replace(path, "[*]");

    /// <summary>True when an ignore entry ($.a.b, $.items[*].id, header:Date) covers the path or a field above it.</summary>
    public static bool Ignored(string path, IReadOnlyList<string> ignore)
    {
        var normal = Normalize(path);
        return ignore.Any(i => normal.Equals(i, StringComparison.OrdinalIgnoreCase)
            || normal.StartsWith(i + ".", StringComparison.Ordinal) || normal.StartsWith(i + "[", StringComparison.Ordinal));
    }

    /// <summary>A value as a report shows it: shortened, and never a secret.</summary>
    public static string Shown(string path, string value)
    {
        if (Secret().IsMatch(path))
        {
            return "[redacted]";
        }
        return value.Length <= ShownChars ? value : value[..ShownChars] + $"… ({value.Length} chars)";
    }

    [GeneratedRegex(@"\[\d+\]")]
    private static partial Regex Index();

    [GeneratedRegex(@"(password|passwd|secret|token|authorization|cookie|api[-_]?key|credential)[^.\[]*$", RegexOptions.IgnoreCase)]
    private static partial Regex Secret();
}
