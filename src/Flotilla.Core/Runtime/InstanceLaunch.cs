using Flotilla.Model;

namespace Flotilla.Runtime;

/// <summary>Everything a driver needs to start one instance; built by the controller, never mutated.</summary>
public sealed record InstanceLaunch(
    string Id,
    string Service,
    string Revision,
    IReadOnlyList<string> Command,
    IReadOnlyDictionary<string, string> Env,
    int Port,
    HttpSpec Http,
    TimeSpan StartTimeout,
    ResourcesSpec? Resources = null,
    string? Zone = null);
