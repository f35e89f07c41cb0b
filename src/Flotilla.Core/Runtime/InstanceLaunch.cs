using Flotilla.Model;

namespace Flotilla.Runtime;

/// <summary>
/// Everything a driver needs to start one instance; built by the controller, never mutated.
/// <see cref="Secrets"/> say where secret values are: the driver resolves them into the process
/// only, so a launch (journaled in the store for re-adoption) never holds a value. <see cref="Image"/>:
/// a prebuilt container image (runtime docker), whose own command runs when <see cref="Command"/> is empty.
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
    string? Image = null)
{
    /// <summary>Which runtime runs it (<see cref="RuntimeKind"/>; null: local processes, as every launch recorded before runtimes existed).</summary>
    public string RuntimeName => Runtime ?? RuntimeKind.Local;
}
