using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Flotilla.Api;
using Flotilla.Tenancy;

namespace Flotilla.Tests.Tenancy;

/// <summary>Tenants through the API: names unique inside a tenant, listings of one's own, roles, quotas, audits, and a restart.</summary>
public sealed class TenantApiTests
{
    [Fact]
    public async Task EnvironmentAndTokenNames_AreUniqueInsideATenantOnly_ListingsShowTheCallersOwn_AndARestartKeepsThem()
    {
        await using var h = await TenantHarness.StartAsync();
        await h.CreateTenantAsync("alpha");
        await h.CreateTenantAsync("bravo");
        Assert.Equal(HttpStatusCode.Conflict, (await h.Operator.PostAsJsonAsync("v1/tenants", new TenantBody("alpha"), ApiJson.Options)).StatusCode);
        var alphaSecret = await h.TokenAsync("alpha", "lead", TenantRoles.Admin);
        var bravoSecret = await h.TokenAsync("bravo", "lead", TenantRoles.Deployer);
        var alpha = h.Client(alphaSecret, "alpha-env-7");
        var bravo = h.Client(bravoSecret, "alpha-env-7");

        // Both tenants run an environment called alpha-env-7: each its own.
        Assert.Equal(HttpStatusCode.Created, (await h.ApplyAsync(alpha, "alpha", "alpha-env-7")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await bravo.PostAsJsonAsync("v1/apply",
            new ApplyBody(TenantHarness.Spec("alpha").Replace("alpha-web", "bravo-web", StringComparison.Ordinal), h.SpecFile, "alpha-env-7", null, null), ApiJson.Options)).StatusCode);
        Assert.Contains("alpha-web", await alpha.GetStringAsync("v1/status"), StringComparison.Ordinal);
        Assert.DoesNotContain("alpha-web", await bravo.GetStringAsync("v1/status"), StringComparison.Ordinal);
        Assert.Contains("bravo-web", await bravo.GetStringAsync("v1/status"), StringComparison.Ordinal);

        // Listings: a tenant's token sees its tenant only; the operator sees every one.
        Assert.Equal(["bravo"], (await bravo.GetFromJsonAsync<List<TenantView>>("v1/tenants", ApiJson.Options))!.Select(t => t.Name));
        Assert.Equal(["alpha", "bravo", "default"], (await h.Operator.GetFromJsonAsync<List<TenantView>>("v1/tenants", ApiJson.Options))!.Select(t => t.Name));
        Assert.Equal(["lead"], (await alpha.GetFromJsonAsync<List<JsonObject>>("v1/tokens", ApiJson.Options))!.Select(t => (string?)t["name"]));
        Assert.Single((await bravo.GetFromJsonAsync<List<EnvironmentSummary>>("v1/environments", ApiJson.Options))!);
        Assert.Equal(new CallerView("lead", TenantRoles.Deployer, "bravo", "bravo"), await bravo.GetFromJsonAsync<CallerView>("v1/whoami", ApiJson.Options));

        // Roles: a deployer changes what runs, but neither tokens nor secrets; no tenant's admin makes an operator.
        Assert.Equal(HttpStatusCode.Forbidden, (await bravo.PutAsJsonAsync("v1/secrets/s", new SecretBody("v"), ApiJson.Options)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await alpha.PostAsJsonAsync("v1/tokens", new TokenBody("root", TenantRoles.Operator), ApiJson.Options)).StatusCode);
        Assert.Equal(HttpStatusCode.Forbidden, (await alpha.PostAsJsonAsync("v1/shutdown", new ShutdownBody(false), ApiJson.Options)).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await alpha.PostAsJsonAsync("v1/tokens", new TokenBody("ci", TenantRoles.Viewer), ApiJson.Options)).StatusCode);

        // The tenant's audit names its environments and its tokens; the server's audit is the operator's.
        var audit = (await alpha.GetFromJsonAsync<List<Flotilla.Store.AuditRecord>>("v1/tenants/alpha/audit", ApiJson.Options))!;
        Assert.Contains(audit, a => a.Detail == "token 'ci' with role viewer" && a.Tenant == "alpha");
        Assert.Contains(audit, a => a.Action == "apply" && a.Environment == "alpha-env-7");
        Assert.DoesNotContain(audit, a => a.Detail.Contains("bravo", StringComparison.Ordinal));
        Assert.Equal(HttpStatusCode.Forbidden, (await alpha.GetAsync("v1/audit/server")).StatusCode);
        var server = (await h.Operator.GetFromJsonAsync<List<Flotilla.Store.AuditRecord>>("v1/audit/server", ApiJson.Options))!;
        Assert.Contains(server, a => a.Detail == "tenant 'bravo'");
        Assert.Contains(server, a => a.Detail == "token 'ci' with role viewer");
        Assert.Contains(server, a => a.Action == "apply" && a.Actor == "token:bravo/lead");

        await h.RestartAsync();
        Assert.Equal(["alpha-env-7"], h.Planes.Of("bravo").Select(p => p.State.Environment));
        Assert.Contains("bravo-web", await h.Client(bravoSecret, "alpha-env-7").GetStringAsync("v1/status"), StringComparison.Ordinal);
        Assert.Contains("alpha-web", await h.Client(alphaSecret, "alpha-env-7").GetStringAsync("v1/status"), StringComparison.Ordinal);
    }

    [Fact]
    public async Task AChangeOverTheTenantsQuota_IsRefusedBeforeAnythingStarts_NamingQuotaUseAndNeed()
    {
        await using var h = await TenantHarness.StartAsync();
        await h.CreateTenantAsync("alpha");
        var alpha = h.Client(await h.TokenAsync("alpha", "lead", TenantRoles.Admin), "alpha-env-7");
        Assert.Equal(HttpStatusCode.Created, (await h.ApplyAsync(alpha, "alpha", "alpha-env-7")).StatusCode);
        // Only an operator sets a quota; the tenant reads it.
        Assert.Equal(HttpStatusCode.Forbidden, (await alpha.PutAsJsonAsync("v1/tenants/alpha/quota", new TenantQuota(Instances: 100), ApiJson.Options)).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await h.Operator.PutAsJsonAsync("v1/tenants/alpha/quota", new TenantQuota(Instances: 2, Cpu: 4), ApiJson.Options)).StatusCode);
        Assert.Equal(new TenantQuota(Instances: 2, Cpu: 4), (await alpha.GetFromJsonAsync<TenantView>("v1/tenants/alpha", ApiJson.Options))!.Quota);

        var scale = await alpha.PostAsJsonAsync("v1/services/alpha-web/scale", new ScaleBody(3), ApiJson.Options);
        Assert.Equal(HttpStatusCode.Conflict, scale.StatusCode);
        Assert.Contains("refused by the quota of tenant 'alpha', nothing was started: instances: quota 2, 0 in use, this change needs 3 where this environment takes 0 now, 3 in all",
            (string?)JsonNode.Parse(await scale.Content.ReadAsStringAsync())!["title"], StringComparison.Ordinal);
        var apply = await alpha.PostAsJsonAsync("v1/apply", new ApplyBody(TenantHarness.Spec("alpha").Replace("-env-7: { instances: 0 }", "-env-7: { instances: 3 }", StringComparison.Ordinal), h.SpecFile, "alpha-env-7", null, null),
            ApiJson.Options);
        Assert.Equal(HttpStatusCode.Conflict, apply.StatusCode);
        Assert.Contains("this change needs 6", await apply.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // Nothing recorded, nothing started.
        Assert.Equal(1, h.Planes.Of("alpha").Single().Store.LatestRevisionNumber);
        Assert.Empty(h.Planes.Of("alpha").Single().Status().Services.SelectMany(s => s.Instances));
        Assert.DoesNotContain("scaled to 3", await alpha.GetStringAsync("v1/audit"), StringComparison.Ordinal);
        Assert.Contains("quota set", await alpha.GetStringAsync("v1/tenants/alpha/audit"), StringComparison.Ordinal);
    }
}
