namespace Flotilla.Artifacts;

/// <summary>
/// An immutable, content-addressed build output. <see cref="Entry"/> is the program and
/// arguments that run it (empty for a file snapshot, whose service brings its own command).
/// </summary>
public sealed record Artifact(string Digest, string Directory, IReadOnlyList<string> Entry);
