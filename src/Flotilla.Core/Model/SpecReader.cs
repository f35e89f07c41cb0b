using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Flotilla.Model;

/// <summary>
/// Reads typed values out of YAML nodes and records every mismatch as a <see cref="SpecError"/>
/// with the node's position, so one pass over a file reports all of its problems.
/// </summary>
internal sealed class SpecReader(string file)
{
    private readonly List<SpecError> _errors = [];
    private readonly List<SpecError> _warnings = [];

    public IReadOnlyList<SpecError> Errors => _errors;

    /// <summary>What the spec may mean but probably does not (a flag rule flagd serves although it is broken); never refuses it.</summary>
    public IReadOnlyList<SpecError> Warnings => _warnings;

    public SpecLocation At(YamlNode node) => new(file, (int)node.Start.Line, (int)node.Start.Column);

    public void Error(YamlNode node, string path, string message) => _errors.Add(new SpecError(At(node), path, message));

    public void Error(SpecLocation at, string path, string message) => _errors.Add(new SpecError(at, path, message));

    /// <summary>Records a warning once (a base flag file is checked again under each environment's overlay).</summary>
    public void Warning(SpecError warning)
    {
        if (!_warnings.Contains(warning))
        {
            _warnings.Add(warning);
        }
    }

    /// <summary>Records an error and gives back what to go on with, for use inside expressions.</summary>
    public T Invalid<T>(YamlNode node, string path, string message, T fallback)
    {
        Error(node, path, message);
        return fallback;
    }

    public static bool IsNull(YamlNode node) =>
        node is YamlScalarNode { Style: YamlDotNet.Core.ScalarStyle.Plain } s && (s.Value is null or "" or "~" or "null");

    /// <summary>The key/value pairs of a mapping; unknown keys are errors that list the valid ones.</summary>
    public IEnumerable<(string Key, YamlNode Value, YamlNode KeyNode)> Mapping(YamlNode node, string path, IReadOnlyCollection<string>? allowedKeys)
    {
        if (node is not YamlMappingNode mapping)
        {
            Error(node, path, $"must be a mapping (key: value lines), got {Describe(node)}");
            yield break;
        }
        foreach (var (keyNode, value) in mapping.Children)
        {
            if (keyNode is not YamlScalarNode { Value: { } key })
            {
                Error(keyNode, path, "keys must be plain names");
                continue;
            }
            if (allowedKeys is not null && !allowedKeys.Contains(key))
            {
                var hint = Suggest(key, allowedKeys);
                Error(keyNode, Join(path, key), $"unknown key '{key}'{hint}; valid keys here: {string.Join(", ", allowedKeys)}");
                continue;
            }
            yield return (key, value, keyNode);
        }
    }

    public string? String(YamlNode node, string path)
    {
        if (node is YamlScalarNode scalar && !IsNull(node))
        {
            return scalar.Value;
        }
        Error(node, path, $"must be a text value, got {Describe(node)}");
        return null;
    }

    public int? Int(YamlNode node, string path, int min, int max, string what)
    {
        if (node is YamlScalarNode { Value: { } text } && int.TryParse(text, NumberStyles.AllowLeadingSign, CultureInfo.InvariantCulture, out var value))
        {
            if (value >= min && value <= max)
            {
                return value;
            }
            Error(node, path, $"must be {what} ({min} to {max}), got {value}");
            return null;
        }
        Error(node, path, $"must be {what} ({min} to {max}), got {Describe(node)}");
        return null;
    }

    public bool? Bool(YamlNode node, string path)
    {
        if (node is YamlScalarNode { Value: "true" or "false" } scalar)
        {
            return scalar.Value == "true";
        }
        Error(node, path, $"must be true or false, got {Describe(node)}");
        return null;
    }

    public int? Instances(YamlNode node, string path) => Int(node, path, 0, SpecLoader.MaxInstances, "a whole number of instances");

    public TimeSpan? Duration(YamlNode node, string path)
    {
        if (node is YamlScalarNode { Value: { } text } && Quantities.TryParseDuration(text, out var value) && value > TimeSpan.Zero)
        {
            return value;
        }
        Error(node, path, $"must be {Quantities.DurationHelp}, got {Describe(node)}");
        return null;
    }

    public IReadOnlyList<string>? StringList(YamlNode node, string path)
    {
        if (node is YamlSequenceNode sequence)
        {
            var items = new List<string>();
            var index = 0;
            foreach (var item in sequence.Children)
            {
                if (String(item, $"{path}[{index++}]") is { } text)
                {
                    items.Add(text);
                }
            }
            return items;
        }
        Error(node, path, $"must be a list such as [a, b], got {Describe(node)}");
        return null;
    }

    public SortedDictionary<string, string> EnvMap(YamlNode node, string path)
    {
        var env = new SortedDictionary<string, string>(StringComparer.Ordinal);
        foreach (var (key, value, keyNode) in Mapping(node, path, allowedKeys: null))
        {
            if (!Names.IsEnvName(key))
            {
                Error(keyNode, Join(path, key), "environment variable names are letters, digits and _, not starting with a digit");
                continue;
            }
            if (value is YamlScalarNode scalar)
            {
                env[key] = scalar.Value ?? "";
            }
            else
            {
                Error(value, Join(path, key), $"must be a text value (quote it), got {Describe(value)}");
            }
        }
        return env;
    }

    public static string Join(string path, string key) => path.Length == 0 ? key : $"{path}.{key}";

    public static string Describe(YamlNode node) => node switch
    {
        YamlMappingNode => "a mapping",
        YamlSequenceNode => "a list",
        YamlScalarNode s when IsNull(s) => "nothing",
        YamlScalarNode s => $"'{s.Value}'",
        _ => "an unsupported value",
    };

    /// <summary>" (did you mean 'x'?)" when a valid name is close to the one given, else nothing.</summary>
    public static string Suggest(string key, IReadOnlyCollection<string> allowed)
    {
        var best = allowed.MinBy(a => Names.EditDistance(a.ToLowerInvariant(), key.ToLowerInvariant()));
        return best is not null && Names.EditDistance(best.ToLowerInvariant(), key.ToLowerInvariant()) <= 2 ? $" (did you mean '{best}'?)" : "";
    }
}
