namespace Flotilla.Store;

public sealed partial class StateStore
{
    /// <summary>Creates a tenant (audited server-wide); false when one by that name exists.</summary>
    public bool CreateTenant(string name, string actor, DateTimeOffset at) =>
        Write((c, t) =>
        {
            if (Scalar(c, "SELECT 1 FROM tenants WHERE name = $n", t, ("$n", name)) is not null)
            {
                return false;
            }
            Execute(c, "INSERT INTO tenants (name, created_at) VALUES ($n, $at)", t, ("$n", name), ("$at", at.ToUnixTimeMilliseconds()));
            InsertAudit(c, t, at, actor, "tenant create", $"tenant '{name}'", null, null, "");
            return true;
        });

    public IReadOnlyList<TenantRecord> Tenants() =>
        Read(c => Query(c, "SELECT name, created_at, quota_json FROM tenants ORDER BY name", r => new TenantRecord(r.GetString(0), Time(r, 1), NullableString(r, 2))));

    public TenantRecord? Tenant(string name) => Tenants().SingleOrDefault(t => t.Name == name);

    /// <summary>Replaces a tenant's quota (JSON; null: none), audited in the tenant's and the server's audit.</summary>
    public void SetQuota(string tenant, string? quotaJson, string actor, DateTimeOffset at) =>
        Write((c, t) =>
        {
            Execute(c, "UPDATE tenants SET quota_json = $q WHERE name = $n", t, ("$n", tenant), ("$q", quotaJson));
            InsertAudit(c, t, at, actor, "quota set", $"tenant '{tenant}' quota {quotaJson ?? "none"}", null, null, tenant);
        });
}
