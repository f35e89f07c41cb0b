using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Flotilla.Model;

/// <summary>Reads <c>rollout.parallel:</c>. Mirroring a write needs an explicit opt-in: the candidate could change shared data.</summary>
internal static class ParallelReader
{
    private static readonly string[] Methods = ["GET", "HEAD", "OPTIONS", "POST", "PUT", "PATCH", "DELETE"];

    public static ParallelSpec Read(SpecReader reader, YamlNode node, string path)
    {
        var spec = new ParallelSpec();
        YamlNode? methodsNode = null;
        foreach (var (key, value, _) in reader.Mapping(node, path, SpecKeys.Parallel))
        {
            var at = $"{path}.{key}";
            switch (key)
            {
                case "sample":
                    spec = Percent(reader, value, at, "a share of requests such as 100% or 10%") is { } sample ? spec with { Sample = sample } : spec;
                    break;
                case "methods":
                    methodsNode = value;
                    var methods = reader.StringList(value, at)?.Select(m => m.ToUpperInvariant()).ToList() ?? [];
                    foreach (var unknown in methods.Where(m => !Methods.Contains(m)))
                    {
                        reader.Error(value, at, $"'{unknown}' is not a method that can be mirrored; methods: {string.Join(", ", Methods)}");
                    }
                    spec = spec with { Methods = methods };
                    break;
                case "mirrorWrites":
                    spec = spec with { MirrorWrites = reader.Bool(value, at) ?? false };
                    break;
                case "duration":
                    spec = reader.Duration(value, at) is { } duration ? spec with { Duration = duration } : spec;
                    break;
                case "requests":
                    spec = spec with { Requests = reader.Int(value, at, 1, 10_000_000, "a number of compared requests") };
                    break;
                case "minRequests":
                    spec = spec with { MinRequests = reader.Int(value, at, 1, 10_000_000, "a number of compared requests the gate needs") ?? 50 };
                    break;
                case "maxMismatchRate":
                    spec = Percent(reader, value, at, "a percentage of compared requests such as 1% or 0.5%") is { } rate ? spec with { MaxMismatchRate = rate } : spec;
                    break;
                case "headers":
                    spec = spec with { Headers = reader.StringList(value, at) ?? [] };
                    break;
                case "ignore":
                    var ignore = reader.StringList(value, at) ?? [];
                    foreach (var bad in ignore.Where(i => !i.StartsWith('$') && !i.StartsWith("header:", StringComparison.OrdinalIgnoreCase)))
                    {
                        reader.Error(value, at, $"'{bad}' is neither a JSON path ($.a.b, $.items[*].id) nor a header (header:Date)");
                    }
                    spec = spec with { Ignore = ignore };
                    break;
                case "arrays":
                    var arrays = reader.String(value, at);
                    if (arrays is not null and not "ordered" and not "set")
                    {
                        reader.Error(value, at, $"must be ordered (element by element) or set (order does not matter), got '{arrays}'");
                    }
                    spec = spec with { ArraysAsSets = arrays == "set" };
                    break;
                case "maxBodyBytes":
                    spec = value is YamlScalarNode { Value: { } text } && Quantities.TryParseMemory(text, out var bytes) && bytes is > 0 and <= 16 * 1024 * 1024
                        ? spec with { MaxBodyBytes = (int)bytes }
                        : reader.Invalid(value, at, "must be a size up to 16Mi such as 64Ki (bigger bodies are compared by hash)", spec);
                    break;
                default:
                    spec = spec with { AutoPromote = reader.Bool(value, at) ?? true };
                    break;
            }
        }
        var writes = spec.Methods.Where(m => !ParallelSpec.SafeMethods.Contains(m)).ToList();
        if (writes.Count > 0 && !spec.MirrorWrites && methodsNode is not null)
        {
            reader.Error(methodsNode, $"{path}.methods", $"mirroring {string.Join(", ", writes)} sends writes to the candidate, which could change shared data; set mirrorWrites: true to mean it");
        }
        return spec;
    }

    private static double? Percent(SpecReader reader, YamlNode node, string path, string what)
    {
        var text = (node as YamlScalarNode)?.Value ?? "";
        if (text.EndsWith('%') && double.TryParse(text[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value is >= 0 and <= 100)
        {
            return value;
        }
        reader.Error(node, path, $"must be {what}, got '{text}'");
        return null;
    }
}
