using System.Net;
using System.Text;
using System.Text.Json;
using Flotilla.Router;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Flags;

/// <summary>
/// A flag file with rules flagd loads although they are broken, served over real OFREP: every good
/// flag answers, each broken one answers as flagd's does (its default, or its own error), and no
/// answer is a 500.
/// </summary>
public sealed class OfrepFlagdConformanceTests : IAsyncLifetime
{
    private const string Document = """
        {"$evaluators": {"staff": {"ends_with": [{"var": "email"}, "@shop.example"]}},
         "flags": {
           "good": {"state": "ENABLED", "defaultVariant": "off", "variants": {"on": true, "off": false}, "targeting": {"if": [{"$ref": "staff"}, "on", "off"]}},
           "orphan-ref": {"state": "ENABLED", "defaultVariant": "off", "variants": {"on": true, "off": false}, "targeting": {"if": [{"$ref": "nobody"}, "on", "off"]}},
           "prefix-of-a-number": {"state": "ENABLED", "defaultVariant": "plain", "variants": {"true": "yes", "false": "no", "plain": "default"}, "targeting": {"starts_with": [{"var": "id"}, "12"]}},
           "short-sem-ver": {"state": "ENABLED", "defaultVariant": "plain", "variants": {"true": "yes", "false": "no", "plain": "default"}, "targeting": {"sem_ver": [{"var": "v"}, ">="]}},
           "no-weight": {"state": "ENABLED", "defaultVariant": "plain", "variants": {"a": "A", "b": "B", "plain": "default"}, "targeting": {"fractional": [["a", 0], ["b", -1]]}}}}
        """;

    private FlagPort _flags = null!;

    public async Task InitializeAsync() => _flags = await FlagPort.StartAsync(Document);

    public async Task DisposeAsync() => await _flags.DisposeAsync();

    private async Task<(HttpStatusCode Status, JsonElement Body)> EvaluateAsync(string key, string context)
    {
        using var content = new StringContent($$"""{"context": {{context}}}""", Encoding.UTF8, "application/json");
        using var response = await _flags.Http.PostAsync($"http://127.0.0.1:{_flags.Port}/ofrep/v1/evaluate/flags{(key.Length == 0 ? "" : "/" + key)}", content);
        return (response.StatusCode, JsonDocument.Parse(await response.Content.ReadAsStringAsync()).RootElement.Clone());
    }

    [Fact]
    public async Task TheGoodFlags_AreServed_BesideTheBrokenOnes()
    {
        var (status, body) = await EvaluateAsync("good", """{"email": "ann@shop.example"}""");
        Assert.Equal((HttpStatusCode.OK, "on", "TARGETING_MATCH"), (status, body.GetProperty("variant").GetString(), body.GetProperty("reason").GetString()));
    }

    [Fact]
    public async Task AReferenceToNoEvaluator_IsThatFlagsParseError()
    {
        var (status, body) = await EvaluateAsync("orphan-ref", """{"email": "ann@shop.example"}""");
        Assert.Equal((HttpStatusCode.BadRequest, "PARSE_ERROR"), (status, body.GetProperty("errorCode").GetString()));
    }

    [Theory]
    [InlineData("prefix-of-a-number", """{"id": 1234}""")]
    [InlineData("short-sem-ver", """{"v": "1.0.0"}""")]
    [InlineData("no-weight", """{"targetingKey": "u1"}""")]
    public async Task ARuleFlagdAnswersNullFor_ServesTheDefaultVariant(string key, string context)
    {
        var (status, body) = await EvaluateAsync(key, context);
        Assert.Equal((HttpStatusCode.OK, "plain", "default", "DEFAULT"),
            (status, body.GetProperty("variant").GetString(), body.GetProperty("value").GetString(), body.GetProperty("reason").GetString()));
    }

    [Fact]
    public async Task Bulk_AnswersEveryFlag_TheBrokenOnesWithTheirOwnAnswer()
    {
        var (status, body) = await EvaluateAsync("", """{"targetingKey": "u1", "email": "ann@shop.example", "id": 1234}""");
        Assert.Equal(HttpStatusCode.OK, status);
        var flags = body.GetProperty("flags").EnumerateArray().ToDictionary(f => f.GetProperty("key").GetString()!);
        Assert.Equal(5, flags.Count);
        Assert.Equal("PARSE_ERROR", flags["orphan-ref"].GetProperty("errorCode").GetString());
        Assert.Equal("on", flags["good"].GetProperty("variant").GetString());
        Assert.Equal("DEFAULT", flags["prefix-of-a-number"].GetProperty("reason").GetString());
    }
}
