using System.Text.Json.Nodes;
using Flotilla.Flags;
using YamlDotNet.RepresentationModel;

namespace Flotilla.Model;

/// <summary>Reads <c>flags:</c> (top level and per environment) and loads, merges and checks the flag files it names.</summary>
internal static class FlagsReader
{
    /// <summary><c>flags: flags.json</c>, or at the top level <c>flags: {file: flags.json, port: 7199, strict: true}</c>.</summary>
    public static FlagsDeclaration? Declaration(SpecReader reader, YamlNode node, string path, bool topLevel)
    {
        if (node is YamlScalarNode && !SpecReader.IsNull(node))
        {
            return reader.String(node, path) is { Length: > 0 } file ? new FlagsDeclaration(file, null, reader.At(node)) : null;
        }
        if (!topLevel || node is not YamlMappingNode)
        {
            return reader.Invalid<FlagsDeclaration?>(node, path, topLevel
                ? $"must be a flag file's path (flags: flags.json) or {{file: flags.json, port: 7199, strict: true}}, got {SpecReader.Describe(node)}"
                : $"must be a flag file's path whose flags replace the base ones of the same key, got {SpecReader.Describe(node)}", null);
        }
        string? fileName = null;
        int? port = null;
        var strict = false;
        foreach (var (key, value, _) in reader.Mapping(node, path, SpecKeys.Flags))
        {
            switch (key)
            {
                case "file":
                    fileName = reader.String(value, $"{path}.file");
                    break;
                case "port":
                    port = reader.Int(value, $"{path}.port", 1, 65535, "a TCP port");
                    break;
                default:
                    strict = reader.Bool(value, $"{path}.strict") ?? false;
                    break;
            }
        }
        if (fileName is null)
        {
            reader.Error(node, $"{path}.file", "missing: the flag file's path, e.g. 'file: flags.json'");
            return null;
        }
        return new FlagsDeclaration(fileName, port, reader.At(node), strict);
    }

    /// <summary>
    /// Loads and checks every flag file the spec names (all environments', so validate sees them all);
    /// returns the chosen environment's flags. The base declaration's <c>strict</c> holds for the
    /// environments' files too: with it a warning is an error.
    /// </summary>
    public static FlagsSpec? Resolve(SpecReader reader, string directory, FlagsDeclaration? root, IReadOnlyDictionary<string, EnvironmentSpec> environments, string? environment)
    {
        var baseline = root is null ? null : Load(reader, directory, root, "flags");
        var strict = root?.Strict ?? false;
        if (baseline is not null)
        {
            Check(reader, baseline, strict);
        }
        FlagsSpec? chosen = baseline is null ? null : new FlagsSpec(baseline.Document.ToJsonString(), root!.Port, [baseline.File], strict);
        foreach (var env in environments.Values.Where(e => e.Flags is not null))
        {
            if (Load(reader, directory, env.Flags!, $"environments.{env.Name}.flags") is not { } overlay)
            {
                continue;
            }
            var merged = Merged(baseline, overlay);
            Check(reader, merged, strict);
            if (env.Name == environment)
            {
                chosen = new FlagsSpec(merged.Document.ToJsonString(), root?.Port, baseline is null ? [overlay.File] : [baseline.File, overlay.File], strict);
            }
        }
        return chosen;
    }

    private static FlagFile.Source? Load(SpecReader reader, string directory, FlagsDeclaration declaration, string path)
    {
        var file = Path.GetFullPath(Path.Combine(directory, declaration.File));
        if (!File.Exists(file))
        {
            reader.Error(declaration.At, path, $"flag file '{declaration.File}' not found (looked for {file}); create it in flagd's format ({{\"flags\": {{...}}}}) or fix the path");
            return null;
        }
        try
        {
            return FlagFile.Read(file);
        }
        catch (SpecException e)
        {
            foreach (var error in e.Errors)
            {
                reader.Error(error.At, error.Path, error.Message);
            }
            return null;
        }
    }

    private static void Check(SpecReader reader, FlagFile.Source source, bool strict)
    {
        try
        {
            FlagFile.Compile(source, strict, out var warnings);
            foreach (var warning in warnings)
            {
                reader.Warning(warning);
            }
        }
        catch (SpecException e)
        {
            foreach (var error in e.Errors)
            {
                reader.Error(error.At, error.Path, error.Message);
            }
        }
    }

    /// <summary>An environment's flags over the base ones; each value keeps the position of the file it came from.</summary>
    private static FlagFile.Source Merged(FlagFile.Source? baseline, FlagFile.Source overlay)
    {
        if (baseline is null)
        {
            return overlay;
        }
        var replaced = (overlay.Document["flags"] as JsonObject)?.Select(f => $"flags.{f.Key}").ToList() ?? [];
        var positions = baseline.Positions.Where(p => !replaced.Any(r => p.Key == r || p.Key.StartsWith(r + ".", StringComparison.Ordinal) || p.Key.StartsWith(r + "[", StringComparison.Ordinal)))
            .ToDictionary(p => p.Key, p => p.Value, StringComparer.Ordinal);
        foreach (var (path, at) in overlay.Positions.Where(p => p.Key.Length > 0))
        {
            positions[path] = at;
        }
        return new FlagFile.Source(FlagDocument.Merge(baseline.Document, overlay.Document), positions, overlay.File);
    }
}
