using Flotilla.Hosting;
using Flotilla.Store;
using Flotilla.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Flotilla.Api;

/// <summary>
/// The routes of /v1/tenants and the audits across environments. A tenant's token sees its own
/// tenant only: any other answers 404 "no tenant", exactly as one that does not exist.
/// </summary>
internal static class TenantEndpoints
{
    public static void Map(RouteGroupBuilder v1, ControlPlanes planes)
    {
        var store = planes.Root.Store;
        v1.MapPost("/tenants", async (HttpContext context) =>
        {
            var body = await ApiEndpoints.ReadAsync<TenantBody>(context);
            if (body.Name is not { } name || !Model.Names.IsServiceName(name))
            {
                return ApiErrors.Result(StatusCodes.Status400BadRequest, $"a tenant needs a 'name' ({Model.Names.ServiceNameHelp})");
            }
            if (!store.CreateTenant(name, ApiAuth.Actor(context), DateTimeOffset.UtcNow))
            {
                return ApiErrors.Result(StatusCodes.Status409Conflict, $"tenant '{name}' exists");
            }
            return Results.Json(View(planes, store.Tenant(name)!), ApiJson.Options, statusCode: StatusCodes.Status201Created);
        }).WithSummary("Creates a tenant (operator): a team's own environments, tokens, quota and audit.");
        v1.MapGet("/tenants", (HttpContext context) =>
        {
            var caller = ApiAuth.Caller(context);
            return Results.Json(store.Tenants().Where(t => caller.Sees(t.Name)).Select(t => View(planes, t)), ApiJson.Options);
        }).WithSummary("The tenants the caller may see (a tenant's token: its own), with their environments and quota.");
        v1.MapGet("/tenants/{tenant}", (string tenant, HttpContext context) => Results.Json(View(planes, Visible(context, store, tenant)), ApiJson.Options))
            .WithSummary("One tenant: its environments and its quota.");
        v1.MapPut("/tenants/{tenant}/quota", async (string tenant, HttpContext context) =>
        {
            var visible = Visible(context, store, tenant);
            var quota = await ApiEndpoints.ReadAsync<TenantQuota>(context);
            if (quota.Instances < 0 || quota.Cpu < 0 || quota.MemoryBytes < 0 || quota.FunctionInstances < 0)
            {
                return ApiErrors.Result(StatusCodes.Status400BadRequest, "a quota's limits are 0 or more (leave one out for no limit)");
            }
            store.SetQuota(visible.Name, quota.ToJson(), ApiAuth.Actor(context), DateTimeOffset.UtcNow);
            return Results.Json(View(planes, store.Tenant(visible.Name)!), ApiJson.Options);
        }).WithSummary("Sets a tenant's quota (operator): instances, cpu, memoryBytes, functionInstances; a limit left out is no limit.");
        v1.MapGet("/tenants/{tenant}/audit", (string tenant, int? limit, HttpContext context) =>
        {
            var visible = Visible(context, store, tenant);
            return Results.Json(MergedAudit(planes.Of(visible.Name), store, visible.Name, Math.Clamp(limit ?? 100, 1, 10_000)), ApiJson.Options);
        }).WithSummary("Who changed what in any environment of the tenant, and its tokens and quota, newest first.");
        v1.MapGet("/audit/server", (int? limit) => Results.Json(MergedAudit(planes.All, store, "*", Math.Clamp(limit ?? 100, 1, 10_000)), ApiJson.Options))
            .WithSummary("Every audit record of the server (operator): every tenant's environments, tenants, tokens and quotas, newest first.");
    }

    /// <summary>The tenant when the caller may see it; otherwise the same 404 as for none.</summary>
    private static TenantRecord Visible(HttpContext context, StateStore store, string tenant) =>
        ApiAuth.Caller(context).Sees(tenant) && store.Tenant(tenant) is { } record ? record : throw ApiAuth.NoTenant(tenant);

    private static TenantView View(ControlPlanes planes, TenantRecord tenant) =>
        new(tenant.Name, tenant.CreatedAt, [.. planes.Of(tenant.Name).Select(p => p.State.Environment ?? "(base)")], tenant.QuotaJson is { } json ? TenantQuota.Parse(json) : null);

    /// <summary>The environments' audits merged newest first; the root store's rows of tenants and tokens are filtered to <paramref name="scope"/>.</summary>
    private static List<AuditRecord> MergedAudit(IEnumerable<ControlPlane> planes, StateStore root, string scope, int limit)
    {
        var rows = planes.Where(p => !ReferenceEquals(p.Store, root))
            .SelectMany(p => p.Store.Audit(limit, scope).Select(r => r with { Environment = p.State.Environment ?? "(base)" }))
            .ToList();
        // The root store holds the default tenant's first environment and the tenants' and tokens' rows.
        var rootPlane = planes.FirstOrDefault(p => ReferenceEquals(p.Store, root));
        rows.AddRange(root.Audit(limit, scope).Where(r => rootPlane is not null || r.Tenant is not null)
            .Select(r => r with { Environment = r.Tenant is null ? rootPlane?.State.Environment ?? "(base)" : null }));
        return [.. rows.OrderByDescending(r => r.At).ThenByDescending(r => r.Id).Take(limit)];
    }
}

public sealed record TenantBody(string? Name);

/// <summary>A tenant as <c>flotilla tenant ls</c> shows it.</summary>
public sealed record TenantView(string Name, DateTimeOffset CreatedAt, IReadOnlyList<string> Environments, TenantQuota? Quota);
