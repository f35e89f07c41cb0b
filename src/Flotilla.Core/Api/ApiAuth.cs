using Flotilla.Store;
using Flotilla.Tenancy;
using Microsoft.AspNetCore.Http;

namespace Flotilla.Api;

/// <summary>
/// Bearer tokens, checked against their stored SHA-256, then the route's role
/// (<see cref="RoutePolicy"/>) and the tenant the request acts in: a tenant's token acts in its
/// own tenant only; a server-wide token in the one X-Flotilla-Tenant names (default: default).
/// Unauthenticated: 401; a role too weak for the route: 403 (decided by the route alone, so it
/// tells nothing about what exists); a tenant the caller may not see: 404, the same as none.
/// </summary>
public static class ApiAuth
{
    public const string TenantHeader = "X-Flotilla-Tenant";
    private const string CallerKey = "flotilla.caller";

    public static async Task CheckAsync(HttpContext context, Func<Task> next, StateStore store)
    {
        var path = context.Request.Path;
        // The dashboard's page and scripts hold no data: it signs in with a token and then calls /v1 like the CLI.
        if (path == "/healthz" || path == "/v1/openapi.json" || path == "/" || path.StartsWithSegments("/ui"))
        {
            await next();
            return;
        }
        var header = context.Request.Headers.Authorization.ToString();
        var token = header.StartsWith("Bearer ", StringComparison.OrdinalIgnoreCase) ? header["Bearer ".Length..].Trim() : null;
        var record = token is { Length: > 0 } ? store.FindToken(token) : null;
        if (record is null)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"flotilla\"";
            await ApiErrors.WriteAsync(context, StatusCodes.Status401Unauthorized, token is null ? "missing bearer token" : "unknown token",
                "pass a token with --token, FLOTILLA_TOKEN or the config file that 'flotilla server' writes");
            return;
        }
        var needed = RoutePolicy.Required(context);
        if (!TenantRoles.Allows(record.Role, needed))
        {
            await ApiErrors.WriteAsync(context, StatusCodes.Status403Forbidden,
                $"token '{record.Name}' has the role '{record.Role}', which may not do this ({context.Request.Method} {RoutePolicy.PatternOf(context)} needs {needed})",
                needed == TenantRoles.Operator ? "use a server-wide operator token" : $"use a token with the role {needed} or above");
            return;
        }
        var named = context.Request.Headers[TenantHeader].ToString() is { Length: > 0 } n ? n : null;
        var tenant = record.Tenant ?? named ?? TenantRoles.DefaultTenant;
        if ((record.Tenant is not null && named is not null && named != record.Tenant) || store.Tenant(tenant) is null)
        {
            await ApiErrors.For(NoTenant(named ?? tenant)).ExecuteAsync(context);
            return;
        }
        context.Items[CallerKey] = new ApiCaller(record, tenant);
        await next();
    }

    /// <summary>The one answer for a tenant that does not exist and for one the caller may not see.</summary>
    public static Hosting.ControlPlaneException NoTenant(string name) =>
        new($"no tenant '{name}'", Hosting.ControlPlaneError.NotFound);

    /// <summary>The caller of the request (after the check ran).</summary>
    public static ApiCaller Caller(HttpContext context) =>
        context.Items[CallerKey] as ApiCaller ?? throw new InvalidOperationException("the request was not authenticated");

    /// <summary>The tenant the request acts in.</summary>
    public static string Tenant(HttpContext context) => Caller(context).Tenant;

    /// <summary>Who made the request, as audit records name them.</summary>
    public static string Actor(HttpContext context) => context.Items[CallerKey] is ApiCaller caller
        ? caller.Token.Tenant is { } tenant ? $"token:{tenant}/{caller.Token.Name}" : $"token:{caller.Token.Name}"
        : "anonymous";
}
