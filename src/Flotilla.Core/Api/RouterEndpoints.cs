using Flotilla.Hosting;
using Flotilla.Router.Remote;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Flotilla.Api;

/// <summary>The routes of the data plane's own process: replacing it without dropping a request.</summary>
internal static class RouterEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapPost("/router/reload", async (HttpContext context, ControlPlane plane) =>
        {
            if (plane.DataPlane is Router.HAProxy.HAProxyRouter haproxy)
            {
                var (oldWorker, newWorker) = await haproxy.ReloadWorkerAsync(context.RequestAborted);
                var reloaded = $"haproxy worker {oldWorker} replaced by {newWorker} (a reload through its master); no request dropped";
                plane.Store.AddAudit(ApiAuth.Actor(context), "router reload", reloaded, DateTimeOffset.UtcNow);
                plane.Events.Record("router", reloaded);
                return Results.Json(new RouterReload(oldWorker, newWorker), ApiJson.Options);
            }
            if (plane.DataPlane is not RouterClient router)
            {
                throw new ControlPlaneException("this router runs inside the control plane's own process (flotilla up); only a server's router process can be reloaded", ControlPlaneError.Conflict);
            }
            try
            {
                var (old, @new) = await router.ReloadAsync(context.RequestAborted);
                var what = $"router worker {old} replaced by {@new} (the Flotilla program on disk now); no request dropped";
                plane.Store.AddAudit(ApiAuth.Actor(context), "router reload", what, DateTimeOffset.UtcNow);
                plane.Events.Record("router", what);
                return Results.Json(new RouterReload(old, @new), ApiJson.Options);
            }
            catch (InvalidOperationException e)
            {
                throw new ControlPlaneException(e.Message, ControlPlaneError.Conflict);
            }
        }).WithSummary("Replaces the router's worker process by a new one from the Flotilla program on disk: it serves beside the old one, which finishes its requests and exits (a hitless upgrade).");
    }
}

/// <summary>The router worker before and after a reload.</summary>
public sealed record RouterReload(int OldPid, int NewPid);
