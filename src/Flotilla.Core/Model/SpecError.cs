namespace Flotilla.Model;

/// <summary>One problem found in a spec: where it is, which setting, and what would be valid.</summary>
public sealed record SpecError(SpecLocation At, string Path, string Message)
{
    public override string ToString() => Path.Length == 0 ? $"{At}: {Message}" : $"{At}: {Path}: {Message}";
}
