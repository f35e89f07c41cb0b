namespace Flotilla.Model;

/// <summary>Where flotilla.yaml says the flags are: a flagd file (relative to the spec), and for the base spec optionally the flag port.</summary>
public sealed record FlagsDeclaration(string File, int? Port, SpecLocation At);

/// <summary>
/// The flags of a system as the chosen environment sees them: one flagd document (the base file
/// with the environment's file laid over it, checked), the port to serve it on, and the files it came from.
/// </summary>
public sealed record FlagsSpec(string Document, int? Port, IReadOnlyList<string> Files);
