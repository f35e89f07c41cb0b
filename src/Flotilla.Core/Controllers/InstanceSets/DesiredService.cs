using Flotilla.Model;

namespace Flotilla.Controllers.InstanceSets;

/// <summary>
/// What the instance-set controller keeps running for one service: N instances of one revision.
/// <see cref="Revision"/> changes exactly when what an instance runs changes (artifact, command,
/// environment, probes), never for a change of count. <see cref="Zones"/> are the failure
/// domains instances may be placed in now (a zone marked down is left out); empty: no zones.
/// During a canary, blue-green or parallel release, <see cref="Stable"/> is the revision kept
/// running beside this one (with its own count), <see cref="Traffic"/> how the router splits
/// requests between them, <see cref="Preview"/> whether this revision also gets a preview
/// endpoint, and <see cref="Mirror"/> whether requests are copied to it and compared.
/// <see cref="Baseline"/> is a fresh copy of the stable revision started for an analysis (under
/// its own revision label, so the router's metrics tell it apart).
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
    ResourcesSpec? Resources = null,
    IReadOnlyList<string>? Zones = null,
    RolloutSpec? Rollout = null,
    bool Paused = false,
    DesiredService? Stable = null,
    Router.TrafficSplit? Traffic = null,
    bool Preview = false,
    DesiredService? Baseline = null,
    Router.Mirror.MirrorPolicy? Mirror = null,
    IReadOnlyList<Secrets.SecretRef>? Secrets = null,
    IReadOnlyDictionary<string, string>? EnvSources = null,
    string? Runtime = null,
    string? Image = null,
    FunctionSpec? Function = null)
{
    /// <summary>What runs this revision's instances (<see cref="Model.RuntimeKind"/>; null: local processes).</summary>
    public string RuntimeName => Runtime ?? Model.RuntimeKind.Local;

    /// <summary>Where each secret's value is (never the value); resolved only when an instance starts.</summary>
    public IReadOnlyList<Secrets.SecretRef> SecretRefs => Secrets ?? [];

    /// <summary>Every revision this service keeps running now: itself, and during a release the stable one and a baseline.</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IEnumerable<DesiredService> Sides => new[] { this, Stable, Baseline }.OfType<DesiredService>();

    public IReadOnlyList<string> ZoneNames => Zones ?? [];

    public RolloutSpec RolloutOrDefault => Rollout ?? RolloutSpec.Default;
}
