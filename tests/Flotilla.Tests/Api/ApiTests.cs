using System.Net;
using System.Net.Http.Json;
using System.Text;
using System.Text.Json.Nodes;
using Flotilla.Api;
using Flotilla.Model;

namespace Flotilla.Tests.Api;

/// <summary>The API over real HTTP: auth, precise refusals, optimistic concurrency, history, events.</summary>
public sealed class ApiTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static async Task<JsonObject> Problem(HttpResponseMessage response, HttpStatusCode expected)
    {
        var body = await response.Content.ReadAsStringAsync();
        Assert.True(expected == response.StatusCode, $"expected {expected}, got {response.StatusCode}: {body}");
        Assert.Equal("application/problem+json", response.Content.Headers.ContentType?.MediaType);
        return JsonNode.Parse(body)!.AsObject();
    }

    private async Task<long> Revision() => (long)JsonNode.Parse(await api.Admin.GetStringAsync("v1/status"))!["revision"]!;

    [Fact]
    public async Task WithoutAToken_Everything401_WithAReadToken_Writes403_OpenApiAndHealthAreOpen()
    {
        var anonymous = await api.Anonymous.GetAsync("v1/status");
        Assert.Equal("missing bearer token", (string?)(await Problem(anonymous, HttpStatusCode.Unauthorized))["title"]);
        Assert.Equal("Bearer", anonymous.Headers.WwwAuthenticate.Single().Scheme);

        using var forged = new HttpRequestMessage(HttpMethod.Get, "v1/status") { Headers = { { "Authorization", "Bearer flo_not-a-token" } } };
        Assert.Equal("unknown token", (string?)(await Problem(await api.Anonymous.SendAsync(forged), HttpStatusCode.Unauthorized))["title"]);

        Assert.Equal(HttpStatusCode.OK, (await api.Reader.GetAsync("v1/status")).StatusCode);
        var before = await Revision();
        var write = await api.ApplyAsync(api.Reader, ApiFixture.Spec(extra: "\n    env: { X: reader }"));
        Assert.Contains("role 'viewer'", (string?)(await Problem(write, HttpStatusCode.Forbidden))["title"], StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.Forbidden, (await api.Reader.PostAsJsonAsync("v1/services/web/scale", new ScaleBody(1))).StatusCode);
        Assert.Equal(before, await Revision());

        var openapi = await api.Anonymous.GetStringAsync("v1/openapi.json");
        Assert.Contains("/v1/apply", openapi, StringComparison.Ordinal);
        Assert.Contains("/v1/services/{service}/scale", openapi, StringComparison.Ordinal);
        Assert.Equal("ok\n", await api.Anonymous.GetStringAsync("healthz"));
    }

    [Fact]
    public async Task ARevokedToken_StopsWorkingAtOnce_AndTheLastAdminTokenCannotBeRevoked()
    {
        var created = await api.Admin.PostAsJsonAsync("v1/tokens", new TokenBody("ci", Flotilla.Tenancy.TenantRoles.Viewer), ApiJson.Options);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        var secret = (string)JsonNode.Parse(await created.Content.ReadAsStringAsync())!["token"]!;
        using var ci = new HttpClient { BaseAddress = api.Admin.BaseAddress };
        ci.DefaultRequestHeaders.Authorization = new System.Net.Http.Headers.AuthenticationHeaderValue("Bearer", secret);
        Assert.Equal(HttpStatusCode.OK, (await ci.GetAsync("v1/status")).StatusCode);
        Assert.DoesNotContain(secret, await api.Admin.GetStringAsync("v1/tokens"), StringComparison.Ordinal);

        Assert.Equal(HttpStatusCode.NoContent, (await api.Admin.DeleteAsync("v1/tokens/ci")).StatusCode);
        Assert.Equal(HttpStatusCode.Unauthorized, (await ci.GetAsync("v1/status")).StatusCode);
        Assert.Equal(HttpStatusCode.NotFound, (await api.Admin.DeleteAsync("v1/tokens/ci")).StatusCode);
        Assert.Contains("last operator token", (string?)(await Problem(await api.Admin.DeleteAsync("v1/tokens/admin"), HttpStatusCode.Conflict))["title"], StringComparison.Ordinal);
        Assert.Contains(JsonNode.Parse(await api.Reader.GetStringAsync("v1/audit"))!.AsArray(), a => (string?)a!["action"] == "token revoke");
    }

    [Fact]
    public async Task ASecondControlPlane_OnTheSameDataDirectory_IsRefused()
    {
        var e = await Assert.ThrowsAsync<Flotilla.Hosting.ControlPlaneException>(() => Flotilla.Hosting.ControlPlane.StartAsync(new Flotilla.Hosting.ControlPlaneOptions(api.Plane.DataDirectory)));
        Assert.Contains($"another Flotilla control plane (process {Environment.ProcessId}) is running on {api.Plane.DataDirectory}", e.Message, StringComparison.Ordinal);
        Assert.Equal(HttpStatusCode.OK, (await api.Reader.GetAsync("v1/status")).StatusCode);
    }

    [Fact]
    public async Task BadInput_Gets4xxWithAPreciseMessage_AndChangesNothing()
    {
        await api.ApplyAsync(api.Admin, ApiFixture.Spec());
        var revision = await Revision();
        var status = await api.Admin.GetStringAsync("v1/status");

        async Task<JsonObject> Post(string path, string body, HttpStatusCode expected) =>
            await Problem(await api.Admin.PostAsync(path, new StringContent(body, Encoding.UTF8, "application/json")), expected);

        Assert.Equal("malformed JSON", (string?)(await Post("v1/apply", "{\"spec\": ", HttpStatusCode.BadRequest))["title"]);
        Assert.Equal("malformed JSON", (string?)(await Post("v1/apply", "", HttpStatusCode.BadRequest))["title"]);
        Assert.Equal("malformed JSON", (string?)(await Post("v1/apply", "null", HttpStatusCode.BadRequest))["title"]);
        Assert.Equal("malformed JSON", (string?)(await Post("v1/apply", "[1,2]", HttpStatusCode.BadRequest))["title"]);
        Assert.Contains("absolute path", (string?)(await Post("v1/apply", "{\"spec\":\"name: x\",\"file\":\"relative.yaml\"}", HttpStatusCode.BadRequest))["title"], StringComparison.Ordinal);
        // Expect: 100-continue (as curl sends for large bodies): the server refuses before the body is sent, so the
        // client reads the 413 instead of racing the server's close while it is still writing (a broken pipe).
        using var oversized = new HttpRequestMessage(HttpMethod.Post, "v1/apply") { Content = new StringContent(new string(' ', 2 * 1024 * 1024), Encoding.UTF8, "application/json") };
        oversized.Headers.ExpectContinue = true;
        Assert.Equal("request body too large", (string?)(await Problem(await api.Admin.SendAsync(oversized), HttpStatusCode.RequestEntityTooLarge))["title"]);

        // A spec that fails validation: the very messages 'flotilla validate' prints.
        var invalid = ApiFixture.Spec().Replace("instances: 0\n    dependsOn", "instances: -3\n    dependsOn", StringComparison.Ordinal);
        var expected = Assert.Throws<SpecException>(() => SpecLoader.Parse(invalid, api.SpecFile)).Errors.Select(e => e.ToString()).ToList();
        var problem = await Problem(await api.ApplyAsync(api.Admin, invalid), HttpStatusCode.UnprocessableEntity);
        Assert.Equal(expected, problem["errors"]!.AsArray().Select(e => (string)e!).ToList());
        Assert.Contains("services.worker.instances: must be a whole number of instances", expected.Single(), StringComparison.Ordinal);
        Assert.Contains("malformed YAML", (string?)(await Problem(await api.ApplyAsync(api.Admin, "name: [unclosed"), HttpStatusCode.UnprocessableEntity))["errors"]![0], StringComparison.Ordinal);

        Assert.Contains("unknown service 'nope'", (string?)(await Post("v1/services/nope/scale", "{\"instances\": 1}", HttpStatusCode.NotFound))["title"], StringComparison.Ordinal);
        Assert.Equal("instances must be between 0 and 1000, not -1", (string?)(await Post("v1/services/web/scale", "{\"instances\": -1}", HttpStatusCode.BadRequest))["title"]);
        Assert.Equal("scale needs 'instances'", (string?)(await Post("v1/services/web/scale", "{}", HttpStatusCode.BadRequest))["title"]);
        Assert.Equal("malformed JSON", (string?)(await Post("v1/services/web/scale", "{\"instances\": \"many\"}", HttpStatusCode.BadRequest))["title"]);
        Assert.Contains("unknown zone 'z'; zones: a, b", (string?)(await Post("v1/zones/z/down", "", HttpStatusCode.NotFound))["title"], StringComparison.Ordinal);
        Assert.Contains("no revision 999", (string?)(await Problem(await api.Admin.GetAsync("v1/revisions/999"), HttpStatusCode.NotFound))["title"], StringComparison.Ordinal);
        Assert.Contains("a token needs", (string?)(await Post("v1/tokens", "{\"name\":\"x\",\"role\":\"root\"}", HttpStatusCode.BadRequest))["title"], StringComparison.Ordinal);

        Assert.Equal(revision, await Revision());
        Assert.Equal(status, await api.Admin.GetStringAsync("v1/status"));
    }

    [Fact]
    public async Task ConcurrentApplies_BasedOnTheSameRevision_OneWins_TheOtherGets409()
    {
        var based = await Revision();
        var responses = await Task.WhenAll(
            api.ApplyAsync(api.Admin, ApiFixture.Spec(extra: "\n    env: { RACE: one }"), based),
            api.ApplyAsync(api.Admin, ApiFixture.Spec(extra: "\n    env: { RACE: two }"), based));
        Assert.Equal([HttpStatusCode.Created, HttpStatusCode.Conflict], responses.Select(r => r.StatusCode).Order());
        var conflict = await Problem(responses.Single(r => r.StatusCode == HttpStatusCode.Conflict), HttpStatusCode.Conflict);
        Assert.Contains($"based on revision {based}, but the latest is {based + 1}", (string?)conflict["detail"], StringComparison.Ordinal);
        Assert.Equal(based + 1, await Revision());
    }

    [Fact]
    public async Task Apply_MakesNumberedRevisions_WithWhoAndCommit_AndAnUnchangedSpecMakesNone()
    {
        var first = await api.ApplyAsync(api.Admin, ApiFixture.Spec(extra: "\n    env: { HISTORY: yes }"), gitCommit: "0123456789abcdef");
        Assert.Equal(HttpStatusCode.Created, first.StatusCode);
        var number = (long)JsonNode.Parse(await first.Content.ReadAsStringAsync())!["revision"]!;
        var again = await api.ApplyAsync(api.Admin, ApiFixture.Spec(extra: "\n    env: { HISTORY: yes }"));
        Assert.Equal(HttpStatusCode.OK, again.StatusCode);
        Assert.True((bool)JsonNode.Parse(await again.Content.ReadAsStringAsync())!["unchanged"]!);

        var history = JsonNode.Parse(await api.Reader.GetStringAsync("v1/revisions?limit=1"))!.AsArray();
        Assert.Equal(number, (long)history[0]!["number"]!);
        Assert.Equal("token:admin", (string?)history[0]!["actor"]);
        Assert.Equal("0123456789abcdef", (string?)history[0]!["gitCommit"]);
        Assert.Contains("HISTORY: yes", (string?)JsonNode.Parse(await api.Reader.GetStringAsync($"v1/revisions/{number}"))!["spec"], StringComparison.Ordinal);
        var audit = JsonNode.Parse(await api.Reader.GetStringAsync("v1/audit"))!.AsArray();
        Assert.Contains(audit, a => (string?)a!["action"] == "apply" && (long?)a["revision"] == number && (string?)a["gitCommit"] == "0123456789abcdef");
    }

    [Fact]
    public async Task Apply_OfFlagsFlagdServesAlthoughBroken_AnswersTheirWarnings_AndStrictRefusesThem()
    {
        File.WriteAllText(Path.Combine(Path.GetDirectoryName(api.SpecFile)!, "warned-flags.json"), """
            {"flags": {"beta": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off",
              "targeting": {"if": [{"starts_with": [{"var": "email"}]}, "on", "off"]}}}}
            """);
        var applied = await api.ApplyAsync(api.Admin, "flags: warned-flags.json\n" + ApiFixture.Spec());
        Assert.Equal(HttpStatusCode.Created, applied.StatusCode);
        var warning = Assert.Single(JsonNode.Parse(await applied.Content.ReadAsStringAsync())!["warnings"]!.AsArray());
        Assert.Matches(@"warned-flags\.json:2:\d+: flags\.beta\.targeting\.if\[0\]\.starts_with: 'starts_with' takes 2 arguments, got 1", (string?)warning);

        var refused = await api.ApplyAsync(api.Admin, "flags: { file: warned-flags.json, strict: true }\n" + ApiFixture.Spec());
        Assert.Contains("takes 2 arguments", (await Problem(refused, HttpStatusCode.UnprocessableEntity)).ToJsonString(), StringComparison.Ordinal);
        await api.ApplyAsync(api.Admin, ApiFixture.Spec());
    }

    [Fact]
    public async Task Events_StreamOverServerSentEvents()
    {
        await api.ApplyAsync(api.Admin, ApiFixture.Spec());
        var since = api.Plane.Events.LastSequence;
        using var stream = await api.Reader.GetAsync($"v1/events?since={since}&follow=true", HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", stream.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await stream.Content.ReadAsStreamAsync());

        Assert.Equal(HttpStatusCode.NoContent, (await api.Admin.PostAsync("v1/zones/b/down", null)).StatusCode);
        Assert.Equal(HttpStatusCode.NoContent, (await api.Admin.PostAsync("v1/zones/b/up", null)).StatusCode);
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        var seen = new List<string>();
        while (seen.Count < 2 && await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("data: ", StringComparison.Ordinal))
            {
                seen.Add((string)JsonNode.Parse(line[6..])!["message"]!);
            }
        }
        Assert.StartsWith("marked down by token:admin", seen[0], StringComparison.Ordinal);
        Assert.StartsWith("marked up by token:admin", seen[1], StringComparison.Ordinal);
    }
}
