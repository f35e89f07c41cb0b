using Flotilla.Controllers.InstanceSets;

namespace Flotilla.Hosting;

/// <summary>
/// Asked before a change of what runs is recorded (apply, scale, start, undo, promote, re-apply),
/// with the services as they would run: throws <see cref="ControlPlaneException"/> to refuse it,
/// before anything starts. A tenant's quota is one (<see cref="TenantAdmission"/>).
/// </summary>
public interface IAdmission
{
    /// <summary>
    /// Admits the change or throws. The admission holds until the answer is disposed, which the
    /// caller does once the change's desired state is recorded: no other change checked against the
    /// same limits is decided in between, so two changes cannot both pass on the same headroom.
    /// </summary>
    IDisposable Admit(ControlPlane plane, IReadOnlyList<DesiredService> proposed);
}
