namespace Flotilla.Tenancy;

/// <summary>
/// The roles a token can hold, weakest first: each may do what the ones before it may. A tenant's
/// <c>viewer</c> reads, its <c>deployer</c> also changes what runs (apply, rollout verbs, scale,
/// flags, zones, GitOps), its <c>admin</c> also manages its tokens, secrets and sees its quota; the
/// server-wide <c>operator</c> may do everything in every tenant, create tenants and set quotas.
/// </summary>
public static class TenantRoles
{
    public const string Viewer = "viewer";
    public const string Deployer = "deployer";
    public const string Admin = "admin";
    public const string Operator = "operator";

    /// <summary>The tenant every server has: what existed before tenants is in it.</summary>
    public const string DefaultTenant = "default";

    public static readonly IReadOnlyList<string> All = [Viewer, Deployer, Admin, Operator];

    /// <summary>The position of a role (-1 for one that does not exist).</summary>
    public static int Rank(string? role) => role is null ? -1 : All.ToList().IndexOf(role);

    public static bool Allows(string held, string needed) => Rank(held) >= 0 && Rank(held) >= Rank(needed);
}
