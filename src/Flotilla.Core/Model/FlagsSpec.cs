namespace Flotilla.Model;

/// <summary>
/// Where flotilla.yaml says the flags are: a flagd file (relative to the spec), and for the base spec
/// optionally the flag port and <see cref="Strict"/>: refuse a flag file with any questionable rule
/// (by default such a file is served as flagd serves it, with warnings).
/// </summary>
public sealed record FlagsDeclaration(string File, int? Port, SpecLocation At, bool Strict = false);

/// <summary>
/// The flags of a system as the chosen environment sees them: one flagd document (the base file
/// with the environment's file laid over it, checked), the port to serve it on, the files it came
/// from, and whether runtime changes are held to strict checking too.
/// </summary>
public sealed record FlagsSpec(string Document, int? Port, IReadOnlyList<string> Files, bool Strict = false);
