using System.Net;
using System.Net.Http.Headers;
using System.Text;
using Flotilla.Api;
using Flotilla.Tenancy;

namespace Flotilla.Tests.Tenancy;

/// <summary>
/// Random and malformed tenant and token inputs (names, roles, quotas, bodies, bearer tokens,
/// tenant headers) thrown at the tenant and token routes by every kind of caller: the server never
/// answers 5xx, a refusal leaves every row of the server's store as it was, a token that is not one
/// is a 401 whatever it looks like, and the server still serves its tenants afterwards.
/// </summary>
public sealed class TenantFuzzTests
{
    // The callers' own token names (op, lead, dev, eye) are left out: a caller may revoke its own token, and the checks after need them.
    private static readonly string[] Names = ["alpha", "bravo", "default", "nope", "", "-", "a", "A", "../alpha", "alpha/..", "%2e%2e", "alpha%00", "ünï", "x y", "*",
        new string('a', 64), new string('b', 300), "alpha\n", " alpha", "ghost", "0", "null"];
    // A line break cannot be in a header value: sent raw, "alpha\n" ends the header block early (Kestrel, like nginx, takes a
    // bare LF as a line end), the rest of the request is read as the next one, and its 400 answers the fuzzer's next request.
    private static readonly string[] HeaderNames = [.. Names.Where(n => !n.Contains('\n', StringComparison.Ordinal))];
    private static readonly string[] Roles = [TenantRoles.Viewer, TenantRoles.Deployer, TenantRoles.Admin, TenantRoles.Operator, "read", "root", "", "ADMIN", "admin ", "null"];
    private static readonly string[] Numbers = ["0", "-1", "1", "20", "1.5", "-0.5", "1e308", "99999999999999999999", "null", "\"8\"", "true", "[]", "{}", "NaN"];

    [Fact]
    public async Task RandomTenantAndTokenInputs_NeverGet5xx_RefusalsChangeNoRow_AndForgedTokensAre401()
    {
        var seed = int.TryParse(Environment.GetEnvironmentVariable("FLOTILLA_FUZZ_SEED"), out var given) ? given : Environment.TickCount;
        var random = new Random(seed);
        await using var h = await TenantHarness.StartAsync();
        await h.CreateTenantAsync("alpha");
        await h.CreateTenantAsync("bravo");
        var callers = new Dictionary<string, string>
        {
            ["operator"] = h.Operator.DefaultRequestHeaders.Authorization!.Parameter!,
            ["alpha admin"] = await h.TokenAsync("alpha", "lead", TenantRoles.Admin),
            ["bravo deployer"] = await h.TokenAsync("bravo", "dev", TenantRoles.Deployer),
            ["bravo viewer"] = await h.TokenAsync("bravo", "eye", TenantRoles.Viewer),
        };
        // Sends header values as UTF-8 bytes (HttpClient refuses non-ASCII otherwise), so the server sees them raw.
        using var raw = new HttpClient(new SocketsHttpHandler { RequestHeaderEncodingSelector = (_, _) => Encoding.UTF8 })
        {
            BaseAddress = h.Operator.BaseAddress,
            Timeout = TimeSpan.FromSeconds(30),
        };
        var refused = 0;
        var forged = 0;
        for (var i = 0; i < 400; i++)
        {
            var before = TenantHarness.Dump(h.DataDirectory);
            var (who, token) = callers.ElementAt(random.Next(callers.Count));
            using var request = RandomRequest(random);
            var forging = random.Next(4) == 0;
            if (!forging)
            {
                request.Headers.Authorization = new AuthenticationHeaderValue("Bearer", token);
            }
            else
            {
                // A caller without a valid token: nothing, garbage, a near miss of a real one, another scheme.
                who = "forged";
                var value = Pick(random, ["", "Bearer ", "Bearer x", "Bearer " + token[..^1], "Bearer " + token + "x", "Basic YWxwaGE6YWxwaGE=", "Bearer " + new string('f', 4000), "bearer", "Bearer ünï", "Bearer a b c",
                    "Bearer " + Convert.ToBase64String(Enumerable.Range(0, random.Next(1, 64)).Select(_ => (byte)random.Next(256)).ToArray())]);
                request.Headers.TryAddWithoutValidation("Authorization", value);
            }
            if (random.Next(3) == 0)
            {
                request.Headers.TryAddWithoutValidation(ApiAuth.TenantHeader, Pick(random, HeaderNames));
            }
            var description = $"seed {seed}, case {i}: {who} {request.Method} {request.RequestUri} (Authorization: {string.Join(",", request.Headers.TryGetValues("Authorization", out var a) ? a : [])}; {ApiAuth.TenantHeader}: {string.Join(",", request.Headers.TryGetValues(ApiAuth.TenantHeader, out var t) ? t : [])})";
            using var response = await raw.SendAsync(request);
            var body = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode < 500, $"{description}: {(int)response.StatusCode} {body}");
            if (forging)
            {
                forged++;
                // 400 only where the header's bytes are not HTTP at all (Kestrel refuses them before any route).
                Assert.True(response.StatusCode == HttpStatusCode.Unauthorized || (response.StatusCode == HttpStatusCode.BadRequest && !Encoding.UTF8.GetString(Encoding.UTF8.GetBytes(request.Headers.Authorization?.ToString() ?? "")).All(char.IsAscii)),
                    $"{description}: {(int)response.StatusCode} {body}");
            }
            if (!response.IsSuccessStatusCode)
            {
                refused++;
                Assert.True(before == TenantHarness.Dump(h.DataDirectory), $"{description} was refused ({(int)response.StatusCode} {body}) but changed the store");
            }
        }
        Assert.True(refused > 200 && forged > 50, $"seed {seed}: {refused} refused, {forged} forged; the fuzzer is too tame");

        // Still serving: each tenant's own things, to its own tokens.
        var alpha = h.Client(callers["alpha admin"]);
        Assert.Equal(HttpStatusCode.OK, (await alpha.GetAsync("v1/tenants/alpha")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await alpha.GetAsync("v1/tenants/bravo")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await h.ApplyAsync(h.Client(await h.TokenAsync("alpha", $"after-{seed}", TenantRoles.Deployer), "alpha-env-7"), "alpha", "alpha-env-7")).StatusCode);
    }

    private static HttpRequestMessage RandomRequest(Random random)
    {
        var tenant = Uri.EscapeDataString(Pick(random, Names));
        return random.Next(6) switch
        {
            0 => Json(HttpMethod.Post, "v1/tenants", Pick(random, ["{\"name\": " + Quote(Pick(random, Names)) + "}", "{\"name\": 7}", "{}", "[]", "null", RandomJson(random)])),
            1 => Json(HttpMethod.Put, $"v1/tenants/{tenant}/quota", RandomQuota(random)),
            2 => Json(HttpMethod.Post, "v1/tokens", Pick(random, [
                "{\"name\": " + Quote(Pick(random, Names)) + ", \"role\": " + Quote(Pick(random, Roles)) + ", \"tenant\": " + Quote(Pick(random, Names)) + "}",
                "{\"name\": " + Quote(Pick(random, Names)) + ", \"role\": " + Quote(Pick(random, Roles)) + "}",
                "{\"role\": \"admin\"}", "{\"name\": [], \"role\": {}}", RandomJson(random)])),
            3 => new HttpRequestMessage(HttpMethod.Delete, $"v1/tokens/{Uri.EscapeDataString(Pick(random, Names))}"),
            4 => new HttpRequestMessage(HttpMethod.Get, Pick(random, [$"v1/tenants/{tenant}", $"v1/tenants/{tenant}/audit?limit={Pick(random, Numbers)}", "v1/tokens", "v1/tenants", "v1/audit/server", "v1/whoami"])),
            _ => Json(HttpMethod.Post, "v1/apply", RandomJson(random)),
        };
    }

    private static string RandomQuota(Random random)
    {
        var fields = new[] { "instances", "cpu", "memoryBytes", "functionInstances", "memory", "extra" }
            .Where(_ => random.Next(2) == 0)
            .Select(f => $"\"{f}\": {Pick(random, Numbers)}");
        return random.Next(8) == 0 ? RandomJson(random) : "{" + string.Join(", ", fields) + "}";
    }

    private static string RandomJson(Random random) => random.Next(5) switch
    {
        0 => new string('[', random.Next(1, 3000)),
        1 => Convert.ToBase64String(Enumerable.Range(0, random.Next(1, 200)).Select(_ => (byte)random.Next(256)).ToArray()),
        2 => "{\"name\": \"alpha\", \"name\": \"bravo\"}",
        3 => "",
        _ => "{\"spec\": \"name: x\", \"file\": \"/nonexistent/flotilla.yaml\", \"environment\": " + Quote(Pick(random, Names)) + "}",
    };

    private static HttpRequestMessage Json(HttpMethod method, string path, string body) =>
        new(method, path) { Content = new StringContent(body, Encoding.UTF8, new MediaTypeHeaderValue("application/json")) };

    private static string Quote(string text) => System.Text.Json.JsonSerializer.Serialize(text);

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];
}
