using System.Net;
using System.Text;
using System.Text.Json;
using Flotilla.Router;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Flags;

/// <summary>OFREP over real HTTP, against the router's flag port.</summary>
public sealed class OfrepEndpointTests : IAsyncLifetime
{
    private const string Document = """
        {"metadata": {"team": "shop"},
         "flags": {
           "new-pricing": {"state": "ENABLED", "defaultVariant": "off", "variants": {"on": true, "off": false},
             "targeting": {"if": [{"==": [{"var": "country"}, "NL"]}, "on", {"fractional": [["on", 20], ["off", 80]]}]}},
           "banner": {"state": "ENABLED", "defaultVariant": "plain", "variants": {"plain": "Welcome", "sale": "Sale!"}},
           "retired": {"state": "DISABLED", "defaultVariant": "on", "variants": {"on": true}},
           "broken": {"state": "ENABLED", "defaultVariant": "a", "variants": {"a": 1, "b": 2}, "targeting": {"cat": ["c"]}}}}
        """;

    private FlagPort _flags = null!;

    public async Task InitializeAsync() => _flags = await FlagPort.StartAsync(Document);

    public async Task DisposeAsync() => await _flags.DisposeAsync();

    private async Task<(HttpStatusCode Status, JsonElement Body, HttpResponseMessage Response)> PostAsync(string path, string? body, string? ifNoneMatch = null)
    {
        using var request = new HttpRequestMessage(HttpMethod.Post, $"http://127.0.0.1:{_flags.Port}{path}") { Content = body is null ? null : new StringContent(body, Encoding.UTF8, "application/json") };
        if (ifNoneMatch is not null)
        {
            request.Headers.TryAddWithoutValidation("If-None-Match", ifNoneMatch);
        }
        var response = await _flags.Http.SendAsync(request);
        var text = await response.Content.ReadAsStringAsync();
        return (response.StatusCode, text.Length == 0 ? default : JsonDocument.Parse(text).RootElement.Clone(), response);
    }

    [Fact]
    public async Task SingleEvaluation_AnswersValueVariantReasonAndMetadata()
    {
        var (status, body, _) = await PostAsync("/ofrep/v1/evaluate/flags/new-pricing", """{"context": {"targetingKey": "u1", "country": "NL"}}""");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal("new-pricing", body.GetProperty("key").GetString());
        Assert.True(body.GetProperty("value").GetBoolean());
        Assert.Equal("on", body.GetProperty("variant").GetString());
        Assert.Equal("TARGETING_MATCH", body.GetProperty("reason").GetString());
        Assert.Equal("shop", body.GetProperty("metadata").GetProperty("team").GetString());

        (status, body, _) = await PostAsync("/ofrep/v1/evaluate/flags/banner", null);
        Assert.Equal((HttpStatusCode.OK, "Welcome", "STATIC"), (status, body.GetProperty("value").GetString(), body.GetProperty("reason").GetString()));
    }

    [Fact]
    public async Task Errors_HaveTheProtocolsCodesAndStatuses_NeverA500()
    {
        var (status, body, _) = await PostAsync("/ofrep/v1/evaluate/flags/nope", "{}");
        Assert.Equal((HttpStatusCode.NotFound, "FLAG_NOT_FOUND"), (status, body.GetProperty("errorCode").GetString()));

        (status, body, _) = await PostAsync("/ofrep/v1/evaluate/flags/broken", "{}");
        Assert.Equal((HttpStatusCode.BadRequest, "GENERAL"), (status, body.GetProperty("errorCode").GetString()));

        (status, body, _) = await PostAsync("/ofrep/v1/evaluate/flags/retired", "{}");
        Assert.Equal((HttpStatusCode.OK, "DISABLED"), (status, body.GetProperty("reason").GetString()));
        Assert.False(body.TryGetProperty("value", out _));

        foreach (var bad in new[] { "{\"context\": ", "[1]", "{\"context\": 5}", "{\"context\": {\"targetingKey\": 7}}", "\u0000\u0001garbage" })
        {
            (status, body, _) = await PostAsync("/ofrep/v1/evaluate/flags/banner", bad);
            Assert.Equal((HttpStatusCode.BadRequest, "INVALID_CONTEXT"), (status, body.GetProperty("errorCode").GetString()));
            (status, body, _) = await PostAsync("/ofrep/v1/evaluate/flags", bad);
            Assert.Equal((HttpStatusCode.BadRequest, "INVALID_CONTEXT"), (status, body.GetProperty("errorCode").GetString()));
        }

        var random = new Random(7);
        for (var i = 0; i < 200; i++)
        {
            var bytes = new byte[random.Next(0, 64)];
            random.NextBytes(bytes);
            using var content = new ByteArrayContent(bytes);
            using var response = await _flags.Http.PostAsync($"http://127.0.0.1:{_flags.Port}/ofrep/v1/evaluate/flags/new-pricing", content);
            Assert.True((int)response.StatusCode < 500, $"{response.StatusCode} for {Convert.ToHexString(bytes)}");
        }
    }

    [Fact]
    public async Task Bulk_EvaluatesEveryFlag_WithAnETag_ThatCoversTheContext()
    {
        var (status, body, response) = await PostAsync("/ofrep/v1/evaluate/flags", """{"context": {"targetingKey": "u1", "country": "NL"}}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var keys = body.GetProperty("flags").EnumerateArray().Select(f => f.GetProperty("key").GetString()).ToList();
        Assert.Equal(["banner", "broken", "new-pricing", "retired"], keys);
        var etag = response.Headers.ETag!.ToString();

        (status, _, response) = await PostAsync("/ofrep/v1/evaluate/flags", """{"context": {"targetingKey": "u1", "country": "NL"}}""", etag);
        Assert.Equal(HttpStatusCode.NotModified, status);
        Assert.Equal(etag, response.Headers.ETag!.ToString());

        // Another context with other answers: never the stale 304.
        (status, body, response) = await PostAsync("/ofrep/v1/evaluate/flags", """{"context": {"targetingKey": "u1", "country": "DE"}}""", etag);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.NotEqual(etag, response.Headers.ETag!.ToString());

        // The flags change: the same context's ETag changes too.
        await _flags.Router.ServeFlagsAsync(_flags.Port, Document.Replace("\"Welcome\"", "\"Hello\"", StringComparison.Ordinal), null);
        (status, body, response) = await PostAsync("/ofrep/v1/evaluate/flags", """{"context": {"targetingKey": "u1", "country": "NL"}}""", etag);
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Contains(body.GetProperty("flags").EnumerateArray(), f => f.GetProperty("key").GetString() == "banner" && f.GetProperty("value").GetString() == "Hello");
    }

    [Fact]
    public async Task Configuration_SaysPollingAndTypes()
    {
        var body = JsonDocument.Parse(await _flags.Http.GetStringAsync($"http://127.0.0.1:{_flags.Port}/ofrep/v1/configuration")).RootElement;
        Assert.Equal("flotilla", body.GetProperty("name").GetString());
        var capabilities = body.GetProperty("capabilities");
        var polling = capabilities.GetProperty("cacheInvalidation").GetProperty("polling");
        Assert.True(polling.GetProperty("enabled").GetBoolean());
        Assert.Equal(1000, polling.GetProperty("minPollingIntervalMs").GetInt32());
        // Every flag value type flagd has (OFREP's names): an SDK refuses to ask for a type not listed.
        var types = capabilities.GetProperty("flagEvaluation").GetProperty("supportedTypes").EnumerateArray().Select(t => t.GetString()).Order(StringComparer.Ordinal);
        Assert.Equal(["boolean", "float", "int", "object", "string"], types);
    }

    [Fact]
    public async Task ABodyOver1MiB_Is413_AndAPortInUse_IsRefusedByName()
    {
        using var big = new StringContent("{\"context\": {\"x\": \"" + new string('a', 2 << 20) + "\"}}", Encoding.UTF8, "application/json");
        using var response = await _flags.Http.PostAsync($"http://127.0.0.1:{_flags.Port}/ofrep/v1/evaluate/flags/banner", big);
        Assert.Equal(HttpStatusCode.RequestEntityTooLarge, response.StatusCode);

        var taken = new System.Net.Sockets.TcpListener(IPAddress.Loopback, 0);
        taken.Start();
        try
        {
            await using var other = new RouterHost();
            var e = await Assert.ThrowsAsync<EndpointBindException>(() => other.ServeFlagsAsync(((IPEndPoint)taken.LocalEndpoint).Port, Document, null));
            Assert.Contains("flag service's port", e.Message, StringComparison.Ordinal);
            Assert.Null(other.FlagsPort);
        }
        finally
        {
            taken.Stop();
        }
    }

    [Fact]
    public async Task ARefusedDocument_LeavesThePreviousFlagsServing()
    {
        await Assert.ThrowsAsync<InvalidOperationException>(() => _flags.Router.ServeFlagsAsync(_flags.Port, """{"flags": {"x": {"state": "MAYBE"}}}""", null));
        var (status, body, _) = await PostAsync("/ofrep/v1/evaluate/flags/banner", "{}");
        Assert.Equal((HttpStatusCode.OK, "Welcome"), (status, body.GetProperty("value").GetString()));
    }

    [Fact]
    public async Task UnderAnAccessKey_FlagsAnswerOnlyThere_AndEveryMissIsTheSameBare404()
    {
        const string Key = "k3y-Of_this-environment";
        await _flags.Router.ServeFlagsAsync(_flags.Port, Document, Key);
        var (status, body, _) = await PostAsync($"/{Key}/ofrep/v1/evaluate/flags/banner", "{}");
        Assert.Equal((HttpStatusCode.OK, "Welcome"), (status, body.GetProperty("value").GetString()));
        (status, body, _) = await PostAsync($"/{Key}/ofrep/v1/evaluate/flags", "{}");
        Assert.Equal(HttpStatusCode.OK, status);
        Assert.Equal(HttpStatusCode.OK, (await _flags.Http.GetAsync($"http://127.0.0.1:{_flags.Port}/{Key}/ofrep/v1/configuration")).StatusCode);

        // No key, a wrong one, one that differs in case or length, an unknown path: one answer, a bare 404, so nothing tells a key apart.
        var misses = new List<string>();
        foreach (var path in new[] { "", "/k3y-of_this-environment", "/k3y-Of_this-environmen", "/x", $"/{Key}x" })
        {
            foreach (var tail in new[] { "/ofrep/v1/evaluate/flags/banner", "/ofrep/v1/evaluate/flags" })
            {
                var (missStatus, missBody, response) = await PostAsync(path + tail, "{}");
                misses.Add($"{(int)missStatus} {response.Content.Headers.ContentLength} {missBody.ValueKind}");
            }
            using var configuration = await _flags.Http.GetAsync($"http://127.0.0.1:{_flags.Port}{path}/ofrep/v1/configuration");
            misses.Add($"{(int)configuration.StatusCode} {configuration.Content.Headers.ContentLength} Undefined");
        }
        Assert.All(misses, m => Assert.Equal("404 0 Undefined", m));

        // Back to no key: the root answers again, a key does not.
        await _flags.Router.ServeFlagsAsync(_flags.Port, Document, null);
        Assert.Equal(HttpStatusCode.OK, (await PostAsync("/ofrep/v1/evaluate/flags/banner", "{}")).Status);
        Assert.Equal(HttpStatusCode.NotFound, (await PostAsync($"/{Key}/ofrep/v1/evaluate/flags/banner", "{}")).Status);
    }
}
