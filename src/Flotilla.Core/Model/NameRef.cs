namespace Flotilla.Model;

/// <summary>A reference to another service by name, kept with its position for cross-reference errors.</summary>
public sealed record NameRef(string Name, SpecLocation At);
