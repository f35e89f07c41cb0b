using Flotilla.Tenancy;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Flotilla.Api;

/// <summary>
/// The role each route needs, decided from its pattern and method only (never from what the
/// request names, so a refusal reveals nothing). Reading needs viewer and changing needs deployer,
/// unless a rule below asks for more; a route added later is covered by that default, and the
/// conformance test walks every route the app has.
/// </summary>
public static class RoutePolicy
{
    private static readonly (string Method, string Prefix, string Role)[] Rules =
    [
        ("*", "/v1/shutdown", TenantRoles.Operator),
        ("POST", "/v1/tenants", TenantRoles.Operator),
        ("PUT", "/v1/tenants/{tenant}/quota", TenantRoles.Operator),
        ("GET", "/v1/audit/server", TenantRoles.Operator),
        ("*", "/v1/tokens", TenantRoles.Admin),
        ("PUT", "/v1/secrets", TenantRoles.Admin),
        ("DELETE", "/v1/secrets", TenantRoles.Admin),
        ("POST", "/v1/router/reload", TenantRoles.Admin),
    ];

    public static string Required(HttpContext context) => Required(context.Request.Method, PatternOf(context));

    public static string Required(string method, string pattern)
    {
        foreach (var (m, prefix, role) in Rules)
        {
            if ((m == "*" || string.Equals(m, method, StringComparison.OrdinalIgnoreCase))
                && (pattern == prefix || pattern.StartsWith(prefix + "/", StringComparison.Ordinal)))
            {
                return role;
            }
        }
        return HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method) ? TenantRoles.Viewer : TenantRoles.Deployer;
    }

    /// <summary>The matched route's pattern (the path itself when no route matched: a 404 follows).</summary>
    public static string PatternOf(HttpContext context) =>
        context.GetEndpoint() is RouteEndpoint route ? "/" + (route.RoutePattern.RawText ?? "").TrimStart('/') : context.Request.Path.Value ?? "";
}
