using Flotilla.Store;
using Flotilla.Tenancy;

namespace Flotilla.Api;

/// <summary>Who makes a request (their token) and the tenant it acts in.</summary>
public sealed record ApiCaller(TokenRecord Token, string Tenant)
{
    public bool IsOperator => Token.Role == TenantRoles.Operator;

    /// <summary>Whether the caller may see a tenant at all (a tenant's token: its own only).</summary>
    public bool Sees(string tenant) => Token.Tenant is null || Token.Tenant == tenant;

    /// <summary>The audit rows of the root store this caller reads: all for a server-wide token, else its tenant's.</summary>
    public string AuditScope => Token.Tenant is null ? "*" : Tenant;
}
