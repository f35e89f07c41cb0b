using Flotilla.Model;

namespace Flotilla.Runtime;

/// <summary>
/// Everything a driver needs to start one instance; built by the controller, never mutated.
/// <see cref="Secrets"/> say where secret values are: the driver resolves them into the process
/// only, so a launch (journaled in the store for re-adoption) never holds a value. <see cref="Image"/>:
/// a prebuilt container image (runtime docker), whose own command runs when <see cref="Command"/> is empty.
/// <see cref="Awaited"/>: requests wait on this start (a function's instance: requests are held for it at
/// zero), so its readiness is probed every 2 ms in its first second, since a late probe is added to the cold
/// start; others are probed every 25 ms, so a hundred starting at once do not flood the machine with probes.
/// </summary>
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
    string? Zone = null,
    IReadOnlyList<Secrets.SecretRef>? Secrets = null,
    string? Runtime = null,
    string? Image = null,
    bool Awaited = false)
{
    /// <summary>Which runtime runs it (<see cref="RuntimeKind"/>; null: local processes, as every launch recorded before runtimes existed).</summary>
    public string RuntimeName => Runtime ?? RuntimeKind.Local;
}
