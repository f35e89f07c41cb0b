using Flotilla.Store;
using Microsoft.AspNetCore.Http;

namespace Flotilla.Api;

/// <summary>
/// Bearer tokens, checked against their stored SHA-256. Two roles: <c>read</c> may look at
/// everything, <c>admin</c> may also change it. Unauthenticated: 401; read-only writing: 403.
/// </summary>
public static class ApiAuth
{
    public const string Admin = "admin";
    public const string Read = "read";
    public static readonly string[] Roles = [Admin, Read];
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
        var caller = token is { Length: > 0 } ? store.FindToken(token) : null;
        if (caller is null)
        {
            context.Response.Headers.WWWAuthenticate = "Bearer realm=\"flotilla\"";
            await ApiErrors.WriteAsync(context, StatusCodes.Status401Unauthorized, token is null ? "missing bearer token" : "unknown token",
                "pass a token with --token, FLOTILLA_TOKEN or the config file that 'flotilla server' writes");
            return;
        }
        var writes = !HttpMethods.IsGet(context.Request.Method) && !HttpMethods.IsHead(context.Request.Method);
        if (writes && caller.Role != Admin)
        {
            await ApiErrors.WriteAsync(context, StatusCodes.Status403Forbidden, $"token '{caller.Name}' has the role '{caller.Role}', which may not change anything",
                "use a token with the admin role");
            return;
        }
        context.Items[CallerKey] = caller;
        await next();
    }

    /// <summary>The token that made the request (null before the check ran).</summary>
    public static TokenRecord? Caller(HttpContext context) => context.Items[CallerKey] as TokenRecord;

    /// <summary>Who made the request, as audit records name them.</summary>
    public static string Actor(HttpContext context) => context.Items[CallerKey] is TokenRecord caller ? $"token:{caller.Name}" : "anonymous";
}
