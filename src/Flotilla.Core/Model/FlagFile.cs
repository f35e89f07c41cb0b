using System.Text.Json.Nodes;
using Flotilla.Flags;

namespace Flotilla.Model;

/// <summary>
/// A flag file of the spec (flagd's format), read with where each of its values is, so that what
/// <see cref="FlagDocument"/> finds wrong is reported with file, line, column and path, as the
/// spec's own errors are.
/// </summary>
public static class FlagFile
{
    /// <summary>A flag file parsed, with where each of its values is (by path), or a <see cref="SpecException"/>.</summary>
    public sealed record Source(JsonObject Document, IReadOnlyDictionary<string, SpecLocation> Positions, string File)
    {
        public SpecLocation Locate(string path) => PositionedJson.Find(Positions, path, File);
    }

    public static Source Read(string file)
    {
        if (!System.IO.File.Exists(file))
        {
            throw new SpecException([new SpecError(new SpecLocation(file, 0, 0), "", "no flag file here; create it (flagd's format: {\"flags\": {...}}) or fix the path")]);
        }
        return Parse(System.IO.File.ReadAllText(file), file);
    }

    public static Source Parse(string text, string file)
    {
        var positions = new Dictionary<string, SpecLocation>(StringComparer.Ordinal);
        var root = PositionedJson.Parse(text, file, positions);
        if (root is not JsonObject document)
        {
            throw new SpecException([new SpecError(new SpecLocation(file, 1, 1), "", "a flag file is a JSON object: {\"flags\": {...}}")]);
        }
        return new Source(document, positions, file);
    }

    /// <summary>
    /// Compiles a document; throws <see cref="SpecException"/> with every error found (and every
    /// warning when <paramref name="strict"/>). The warnings of a set that compiles are in <paramref name="warnings"/>.
    /// </summary>
    public static FlagSet Compile(Source source, bool strict, out IReadOnlyList<SpecError> warnings)
    {
        var errors = new List<SpecError>();
        var found = new List<SpecError>();
        void Error(string path, string message) => errors.Add(new SpecError(source.Locate(path), path, message));
        void Warning(string path, string message) => found.Add(new SpecError(source.Locate(path), path, message));
        var set = FlagDocument.Compile(source.Document, Error, strict ? Error : Warning);
        if (errors.Count > 0)
        {
            throw new SpecException(errors);
        }
        warnings = found;
        return set;
    }

    /// <summary>Compiles a document as flagd would serve it, or throws <see cref="SpecException"/>; its warnings are not kept.</summary>
    public static FlagSet Compile(Source source) => Compile(source, strict: false, out _);
}
