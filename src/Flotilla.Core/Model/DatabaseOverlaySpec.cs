namespace Flotilla.Model;

/// <summary>
/// Where an environment puts a service's database: on <see cref="Engine"/> (an engine of the base
/// spec or of that environment), or in a SQLite file when it is null (<c>engine: sqlite</c>). The
/// database's name and migrations stay the base spec's, so every environment runs the same files.
/// </summary>
public sealed record DatabaseOverlaySpec(string? Engine, SpecLocation At);
