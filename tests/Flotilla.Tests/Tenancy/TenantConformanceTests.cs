using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json;
using System.Text.RegularExpressions;
using Flotilla.Api;
using Flotilla.Tenancy;
using Flotilla.Tests.Support;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;
using Xunit.Abstractions;

namespace Flotilla.Tests.Tenancy;

/// <summary>
/// Attempted access between tenants, for every route the API has (read from ASP.NET's endpoint
/// data sources, so a route added later is walked too): each role of tenant bravo against tenant
/// alpha's environment, services, flags, secrets, tokens, revisions, audit and streams. Every
/// attempt is refused, answers exactly what the same request answers for names that exist nowhere
/// (omega), and leaves alpha's store and the server's store as they were. Run on every runtime,
/// with one of alpha's instances running there (its instances, logs and endpoint exist).
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed partial class TenantConformanceTests(ITestOutputHelper output)
{
    /// <summary>Routes about the caller itself: they answer with the caller's own things only.</summary>
    private static readonly HashSet<string> CallerScoped = ["GET /v1/whoami", "GET /v1/tokens", "GET /v1/tenants", "GET /v1/environments"];

    [Theory]
    [InlineData("local")]
    [InlineData("docker")]
    [InlineData("swarm")]
    public async Task EveryRoute_EachRoleOfAnotherTenant_IsRefusedAsIfNothingExisted_AndChangesNothing(string runtime)
    {
        await using var lab = new SwarmLab();
        if (runtime == "swarm")
        {
            await lab.UpAsync(nodes: 1);
        }
        await using var h = await TenantHarness.StartAsync(runtime == "swarm" ? lab.Manager : null);
        await h.CreateTenantAsync("alpha");
        await h.CreateTenantAsync("bravo");
        var alpha = h.Client(await h.TokenAsync("alpha", "alpha-admin", TenantRoles.Admin), "alpha-env-7");
        var applied = await h.ApplyAsync(alpha, "alpha", "alpha-env-7", TenantHarness.RunningSpec("alpha", runtime));
        Assert.True(applied.StatusCode == HttpStatusCode.Created, await applied.Content.ReadAsStringAsync());
        var alphaLog = await ReadyWithLogAsync(alpha);
        // And a federated environment of alpha's (two local clusters): reached by naming it and one of its clusters.
        var federated = await h.ApplyAsync(h.Client(await h.TokenAsync("alpha", "alpha-deployer", TenantRoles.Deployer), "alpha-fed-7"), "alpha", "alpha-fed-7", TenantHarness.FederatedSpec("alpha"));
        Assert.True(federated.StatusCode == HttpStatusCode.Created, await federated.Content.ReadAsStringAsync());
        await Eventually.Until(() => h.Federations.Find("alpha", "alpha-fed-7")?.Status().AllHealthy == true, TimeSpan.FromSeconds(90), "alpha's federated environment to run on both clusters");
        Assert.Equal(HttpStatusCode.OK, (await alpha.PutAsJsonAsync("v1/secrets/alpha-secret", new SecretBody("alpha-value"), ApiJson.Options)).StatusCode);
        var roles = new Dictionary<string, string>();
        foreach (var role in new[] { TenantRoles.Viewer, TenantRoles.Deployer, TenantRoles.Admin })
        {
            roles[role] = await h.TokenAsync("bravo", $"bravo-{role}", role);
        }
        Assert.Equal(HttpStatusCode.Created, (await h.ApplyAsync(h.Client(roles[TenantRoles.Deployer]), "bravo", "bravo-env-7")).StatusCode);

        // The names used below are alpha's real ones: its own token reaches them (so a refusal below is not a typo).
        Assert.Equal(HttpStatusCode.OK, (await alpha.GetAsync("v1/services/alpha-web/config")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alpha.GetAsync("v1/flags/alpha-flag")).StatusCode);
        Assert.Contains("alpha-secret", await alpha.GetStringAsync("v1/secrets"), StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await alpha.GetAsync("v1/revisions/1")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await alpha.GetAsync("v1/tenants/alpha/audit")).StatusCode);

        var alphaStore = Path.Combine(h.DataDirectory, "tenants", "alpha", "environments", "alpha-env-7");
        var alphaCluster = Path.Combine(h.DataDirectory, "tenants", "alpha", "federations", "alpha-fed-7", "clusters", "alpha-c1");
        var before = (TenantHarness.Dump(alphaStore), TenantHarness.Dump(h.DataDirectory), TenantHarness.Dump(alphaCluster));

        var routes = h.Server.Routes
            .Where(r => (r.RoutePattern.RawText ?? "").StartsWith("/v1/", StringComparison.Ordinal) && !(r.RoutePattern.RawText ?? "").Contains("openapi", StringComparison.Ordinal))
            .SelectMany(r => (r.Metadata.GetMetadata<HttpMethodMetadata>()?.HttpMethods ?? ["GET"]).Select(m => (Method: m, Pattern: r.RoutePattern.RawText!)))
            .OrderBy(r => r.Pattern, StringComparer.Ordinal).ThenBy(r => r.Method, StringComparer.Ordinal).ToList();
        Assert.True(routes.Count >= 55, $"only {routes.Count} routes found");
        var attempts = 0;
        var failures = new List<string>();
        foreach (var (role, token) in roles)
        {
            foreach (var (method, pattern) in routes)
            {
                foreach (var by in new[] { "environment", "tenant", "cluster" })
                {
                    // An apply or a GitOps follow naming an environment the caller's tenant does not run starts
                    // the caller's own environment of that name (names are unique inside a tenant): see the next test.
                    if (by is "environment" or "cluster" && method == "POST" && pattern is "/v1/apply" or "/v1/gitops")
                    {
                        continue;
                    }
                    var (status, body) = await SendAsync(h, token, by, method, pattern, "alpha");
                    var (controlStatus, controlBody) = await SendAsync(h, token, by, method, pattern, "omega");
                    attempts++;
                    var what = $"{role} {method} {pattern} (alpha named by {by}): {status} {body}";
                    if (status != controlStatus || body.Replace("alpha", "omega", StringComparison.Ordinal) != controlBody)
                    {
                        failures.Add($"{what} differs from the answer for names that exist nowhere: {controlStatus} {controlBody}");
                    }
                    else if (CallerScoped.Contains($"{method} {pattern}") && by is "environment" or "cluster")
                    {
                        if (status is not (200 or 403) || body.Contains("alpha", StringComparison.Ordinal))
                        {
                            failures.Add($"{what}: must answer the caller's own things only (or 403 for a role too weak)");
                        }
                    }
                    else if (status is not (403 or 404))
                    {
                        failures.Add($"{what}: must be refused (403 or 404)");
                    }
                }
            }
        }
        Assert.True(failures.Count == 0, string.Join("\n", failures));
        Assert.Equal(before, (TenantHarness.Dump(alphaStore), TenantHarness.Dump(h.DataDirectory), TenantHarness.Dump(alphaCluster)));
        Assert.Equal(1, h.Federations.Find("alpha", "alpha-fed-7")!.Desired!.Number);
        Assert.Contains("alpha-secret", await alpha.GetStringAsync("v1/secrets"), StringComparison.Ordinal);
        Assert.Equal(1, await ReadyAsync(alpha));

        // Alpha's own zone verb, after the comparison (it writes the store): on Swarm the engine places
        // instances over its nodes' zones, so Flotilla refuses to move them and says what to do instead.
        using var down = await alpha.PostAsync("v1/zones/alpha-za/down", null);
        if (runtime == "swarm")
        {
            Assert.Equal(HttpStatusCode.Conflict, down.StatusCode);
            using var problem = JsonDocument.Parse(await down.Content.ReadAsStringAsync());
            var title = problem.RootElement.GetProperty("title").GetString();
            Assert.Contains("zone 'alpha-za': this environment runs on swarm, which places instances over its nodes' zones itself", title, StringComparison.Ordinal);
            Assert.Contains("docker node update --availability drain NODE", title, StringComparison.Ordinal);
        }
        else
        {
            Assert.Equal(HttpStatusCode.NoContent, down.StatusCode);
        }
        output.WriteLine($"{runtime}: {routes.Count} routes x {roles.Count} roles of tenant bravo x 3 ways of naming tenant alpha's things (its environment, its tenant, its federated environment's cluster): {attempts} attempts, each beside its control; alpha's instance logged {alphaLog.Length} characters, none of them reached bravo");
    }

    /// <summary>Waits until alpha's web instance is ready and has logged a request (its readiness probe); returns its log.</summary>
    private static async Task<string> ReadyWithLogAsync(HttpClient alpha)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromSeconds(120);
        while (true)
        {
            var log = (await alpha.GetAsync("v1/services/alpha-web/logs")) is { IsSuccessStatusCode: true } answer ? await answer.Content.ReadAsStringAsync() : "";
            if (await ReadyAsync(alpha) == 1 && log.Contains("GET / ", StringComparison.Ordinal))
            {
                return log;
            }
            Assert.True(DateTime.UtcNow < deadline, $"alpha-web was not ready with a logged request within 120 s: {await alpha.GetStringAsync("v1/status")}\nlog: {log}");
            await Task.Delay(250);
        }
    }

    private static async Task<int> ReadyAsync(HttpClient alpha)
    {
        using var status = JsonDocument.Parse(await alpha.GetStringAsync("v1/status"));
        return status.RootElement.GetProperty("services").EnumerateArray()
            .Where(s => s.GetProperty("name").GetString() == "alpha-web")
            .Select(s => s.GetProperty("ready").GetInt32()).Single();
    }

    private static async Task<(int Status, string Body)> SendAsync(TenantHarness h, string token, string by, string method, string pattern, string prefix)
    {
        using var client = by switch
        {
            "environment" => h.Client(token, $"{prefix}-env-7"),
            "cluster" => h.Client(token, $"{prefix}-fed-7"),
            _ => h.Client(token, null, prefix),
        };
        if (by == "cluster")
        {
            client.DefaultRequestHeaders.Add(Flotilla.Federation.Federations.ClusterHeader, $"{prefix}-c1");
        }
        using var request = new HttpRequestMessage(new HttpMethod(method), Fill(pattern, prefix).TrimStart('/'));
        if (method is "POST" or "PUT" or "PATCH")
        {
            request.Content = new StringContent(JsonSerializer.Serialize(new Dictionary<string, object?>
            {
                ["instances"] = 1, ["spec"] = TenantHarness.Spec(prefix), ["file"] = h.SpecFile, ["name"] = $"{prefix}-token", ["role"] = TenantRoles.Viewer,
                ["tenant"] = prefix, ["value"] = "stolen", ["from"] = $"{prefix}-env-7", ["repo"] = $"/nonexistent/{prefix}", ["state"] = "DISABLED",
                ["stopDataPlane"] = false, ["toRevision"] = 1,
            }), Encoding.UTF8, "application/json");
        }
        using var response = await client.SendAsync(request);
        return ((int)response.StatusCode, await response.Content.ReadAsStringAsync());
    }

    /// <summary>A route's pattern with alpha's (or omega's) names in it.</summary>
    private static string Fill(string pattern, string prefix) => Parameter().Replace(pattern, m => m.Groups[1].Value switch
    {
        "service" => $"{prefix}-web",
        "number" => "1",
        "key" => $"{prefix}-flag",
        "name" when pattern.StartsWith("/v1/tokens", StringComparison.Ordinal) => $"{prefix}-admin",
        "name" => $"{prefix}-secret",
        "zone" => $"{prefix}-za",
        "tenant" => prefix,
        var other => $"{prefix}-{other}",
    });

    [GeneratedRegex(@"\{([a-z]+)(?::[a-z]+)?\}")]
    private static partial Regex Parameter();
}
