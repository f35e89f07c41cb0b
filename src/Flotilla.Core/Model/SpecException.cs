namespace Flotilla.Model;

/// <summary>Thrown when a spec cannot be used; carries every error found, not just the first.</summary>
public sealed class SpecException(IReadOnlyList<SpecError> errors)
    : Exception(string.Join(Environment.NewLine, errors))
{
    public IReadOnlyList<SpecError> Errors { get; } = errors;
}
