using Flotilla.Databases;

namespace Flotilla.Tests.Support;

/// <summary>A secret store in memory for database provisioning tests.</summary>
public sealed class MemorySecrets : IDatabaseSecrets
{
    public Dictionary<string, string> Values { get; } = new(StringComparer.Ordinal);

    public string? Get(string name) => Values.GetValueOrDefault(name);

    public void Set(string name, string value) => Values[name] = value;

    public IReadOnlySet<string> Names() => Values.Keys.ToHashSet(StringComparer.Ordinal);
}
