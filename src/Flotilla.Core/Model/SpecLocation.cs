namespace Flotilla.Model;

/// <summary>A position in a spec file (1-based), so every error can point at its cause.</summary>
public sealed record SpecLocation(string File, int Line, int Column)
{
    public override string ToString() => $"{File}:{Line}:{Column}";
}
