using Flotilla.Model;

namespace Flotilla.Controllers.InstanceSets;

/// <summary>
/// What the instance-set controller keeps running for one service: N instances of one revision.
/// <see cref="Revision"/> changes exactly when what an instance runs changes (artifact, command,
/// environment, probes), never for a change of count.
/// </summary>
public sealed record DesiredService(
    string Name,
    string Revision,
    int Instances,
    IReadOnlyList<string> Command,
    IReadOnlyDictionary<string, string> Env,
    HttpSpec Http,
    TimeoutsSpec Timeouts,
    RestartSpec Restart,
    IReadOnlyList<string> DependsOn,
    ResourcesSpec? Resources = null);
