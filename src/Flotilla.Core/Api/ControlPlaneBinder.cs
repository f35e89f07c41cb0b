using Flotilla.Federation;
using Flotilla.Hosting;
using Microsoft.AspNetCore.Http;

namespace Flotilla.Api;

/// <summary>
/// Binds a handler's <see cref="ControlPlane"/> parameter to the environment the request names
/// (X-Flotilla-Environment), else the first one, of the caller's tenant only; an environment not
/// started yet is not created here. In a federated environment, to the control plane of the cluster
/// the request names (X-Flotilla-Cluster), so every verb works on one cluster.
/// </summary>
internal sealed class ControlPlaneBinder(ControlPlanes planes, Federations? federations = null) : IControlPlaneBinder
{
    public async ValueTask<ControlPlane?> BindAsync(HttpContext context)
    {
        var environment = ApiServer.EnvironmentOf(context);
        var cluster = context.Request.Headers[Federations.ClusterHeader].ToString() is { Length: > 0 } named ? named : null;
        var tenant = ApiAuth.Tenant(context);
        var federation = federations?.Find(tenant, environment);
        if (cluster is not null)
        {
            if (federation is null)
            {
                throw new ControlPlaneException($"environment '{environment ?? "(base)"}' runs over no clusters, so there is no cluster '{cluster}'; leave --cluster out", ControlPlaneError.NotFound);
            }
            return federation.Plane(cluster) ?? throw new ControlPlaneException(
                $"no cluster '{cluster}' in environment '{environment ?? "(base)"}'; its clusters: {string.Join(", ", federation.Clusters)}", ControlPlaneError.NotFound);
        }
        if (federation is not null && !planes.Of(tenant).Any(p => p.Store.LatestRevisionNumber > 0 && p.State.Environment == environment))
        {
            throw new ControlPlaneException($"environment '{environment ?? "(base)"}' runs over clusters ({string.Join(", ", federation.Clusters)}): name one with --cluster NAME, or see them all with 'flotilla clusters'",
                ControlPlaneError.NotFound);
        }
        return await planes.ForAsync(tenant, environment, create: false, context.RequestAborted);
    }
}
