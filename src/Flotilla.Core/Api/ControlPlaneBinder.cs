using Flotilla.Hosting;
using Microsoft.AspNetCore.Http;

namespace Flotilla.Api;

/// <summary>
/// Binds a handler's <see cref="ControlPlane"/> parameter to the environment the request names
/// (X-Flotilla-Environment), else the first one, of the caller's tenant only; an environment not
/// started yet is not created here.
/// </summary>
internal sealed class ControlPlaneBinder(ControlPlanes planes) : IControlPlaneBinder
{
    public async ValueTask<ControlPlane?> BindAsync(HttpContext context) =>
        await planes.ForAsync(ApiAuth.Tenant(context), ApiServer.EnvironmentOf(context), create: false, context.RequestAborted);
}
