namespace Flotilla.Model;

/// <summary>
/// A secret a service gets: from the control plane's secret store (<see cref="Store"/>, a name) or
/// a file on the control plane's machine (<see cref="File"/>, absolute); injected as the variable
/// <see cref="Variable"/>, or with <see cref="AsFile"/> written to a file whose path that variable holds.
/// </summary>
public sealed record SecretSpec(string Variable, string? Store, string? File, bool AsFile, SpecLocation At);
