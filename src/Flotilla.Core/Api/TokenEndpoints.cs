using Flotilla.Hosting;
using Flotilla.Tenancy;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Flotilla.Api;

/// <summary>
/// The routes of /v1/tokens. A tenant's admin manages its own tenant's tokens; an operator those
/// of any tenant (the one X-Flotilla-Tenant or 'tenant' names) and the server-wide ones.
/// </summary>
internal static class TokenEndpoints
{
    public static void Map(RouteGroupBuilder v1, ControlPlanes planes)
    {
        var store = planes.Root.Store;
        v1.MapPost("/tokens", async (HttpContext context) =>
        {
            var caller = ApiAuth.Caller(context);
            var body = await ApiEndpoints.ReadAsync<TokenBody>(context);
            // 'read' is the role that read tokens had before tenants: it is a viewer.
            var role = body.Role == "read" ? TenantRoles.Viewer : body.Role;
            if (string.IsNullOrWhiteSpace(body.Name) || TenantRoles.Rank(role) < 0)
            {
                return ApiErrors.Result(StatusCodes.Status400BadRequest, $"a token needs a 'name' and a 'role' ({string.Join(", ", TenantRoles.All)})");
            }
            // A tenant's admin makes tokens of its own tenant; an operator makes server-wide ones unless it names a tenant.
            var tenant = caller.Token.Tenant ?? body.Tenant ?? (context.Request.Headers[ApiAuth.TenantHeader].Count > 0 ? caller.Tenant : null);
            if (body.Tenant is not null && (!caller.Sees(body.Tenant) || store.Tenant(body.Tenant) is null))
            {
                throw ApiAuth.NoTenant(body.Tenant);
            }
            if (role == TenantRoles.Operator && (!caller.IsOperator || tenant is not null))
            {
                return caller.IsOperator
                    ? ApiErrors.Result(StatusCodes.Status400BadRequest, "an operator token is server-wide: create it without a tenant")
                    : ApiErrors.Result(StatusCodes.Status403Forbidden, "only an operator may create operator tokens");
            }
            if (store.Tokens().Any(t => t.Name == body.Name && t.Tenant == tenant))
            {
                return ApiErrors.Result(StatusCodes.Status409Conflict, tenant is null ? $"a server-wide token named '{body.Name}' exists" : $"tenant '{tenant}' has a token named '{body.Name}'");
            }
            var secret = store.CreateToken(body.Name, role!, ApiAuth.Actor(context), DateTimeOffset.UtcNow, tenant);
            return Results.Json(new TokenResponse(body.Name, role!, secret, tenant), ApiJson.Options, statusCode: StatusCodes.Status201Created);
        }).WithSummary("Creates a token (tenant admin: of its tenant; operator: server-wide, or of the tenant named by 'tenant').");
        v1.MapGet("/tokens", (HttpContext context) =>
        {
            var caller = ApiAuth.Caller(context);
            return Results.Json(store.Tokens().Where(t => caller.IsOperator || t.Tenant == caller.Tenant), ApiJson.Options);
        }).WithSummary("Token names, roles and tenants (never their secrets): a tenant's admin sees its tenant's, an operator all.");
        v1.MapDelete("/tokens/{name}", (string name, HttpContext context) =>
        {
            var caller = ApiAuth.Caller(context);
            var tenant = caller.Token.Tenant ?? (context.Request.Headers[ApiAuth.TenantHeader].Count > 0 ? caller.Tenant : null);
            var tokens = store.Tokens().Where(t => t.Tenant == tenant).ToList();
            if (tokens.SingleOrDefault(t => t.Name == name) is not { } token)
            {
                return ApiErrors.Result(StatusCodes.Status404NotFound, $"no token named '{name}'", $"tokens: {string.Join(", ", tokens.Select(t => t.Name))}");
            }
            if (token.Role == TenantRoles.Operator && tokens.Count(t => t.Role == TenantRoles.Operator) == 1)
            {
                return ApiErrors.Result(StatusCodes.Status409Conflict, $"'{name}' is the last operator token; create another operator token first");
            }
            store.RevokeToken(name, ApiAuth.Actor(context), DateTimeOffset.UtcNow, tenant);
            return Results.NoContent();
        }).WithSummary("Revokes a token at once (not the last operator token).");
    }
}
