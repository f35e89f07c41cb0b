using Flotilla.Controllers.InstanceSets;

namespace Flotilla.Hosting;

/// <summary>
/// Asked before a change of what runs is recorded (apply, scale, start, undo, promote, re-apply),
/// with the services as they would run: throws <see cref="ControlPlaneException"/> to refuse it,
/// before anything starts. A tenant's quota is one (<see cref="TenantAdmission"/>).
/// </summary>
public interface IAdmission
{
    void Admit(ControlPlane plane, IReadOnlyList<DesiredService> proposed);
}
