using Microsoft.AspNetCore.Http;

namespace Flotilla.Hosting;

/// <summary>
/// Which control plane a request is for: the API decides (it owns the request's headers) and
/// registers its binder as a service; <see cref="ControlPlane.BindAsync"/> only asks it.
/// </summary>
public interface IControlPlaneBinder
{
    ValueTask<ControlPlane?> BindAsync(HttpContext context);
}
