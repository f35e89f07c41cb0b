using Flotilla.Controllers.InstanceSets;
using Flotilla.Store;

namespace Flotilla.Hosting;

/// <summary>The hook where a change is admitted or refused before it is recorded (quotas: <see cref="IAdmission"/>).</summary>
public sealed partial class ControlPlane
{
    /// <summary>Set by whoever composes the control planes (a tenant's quota); null admits everything.</summary>
    public IAdmission? Admission { get; set; }

    /// <summary>The services as they run now: overrides, zones that are down and functions' demand applied.</summary>
    public IReadOnlyList<DesiredService> Composed() => State.Compose(_store.ServiceOverrides(), _store.ZonesDown(), _functions.Counts);

    /// <summary>Admits the change or throws; dispose the answer once the change is recorded (the new state set), not before.</summary>
    private IDisposable Admit(DesiredState next, IReadOnlyDictionary<string, ServiceOverride> overrides) =>
        Admission?.Admit(this, next.Compose(overrides, _store.ZonesDown(), _functions.Counts)) ?? NothingHeld.Instance;

    /// <summary>The overrides once a revision made from a spec is recorded: scales are dropped (<see cref="StateStore.AddRevision"/>), stops and pauses stay.</summary>
    private Dictionary<string, ServiceOverride> OverridesAfterApply() =>
        _store.ServiceOverrides().ToDictionary(o => o.Key, o => o.Value with { Instances = null }, StringComparer.Ordinal);

    private Dictionary<string, ServiceOverride> OverridesWith(ServiceOverride changed)
    {
        var overrides = _store.ServiceOverrides().ToDictionary(StringComparer.Ordinal);
        overrides[changed.Service] = changed;
        return overrides;
    }
}
