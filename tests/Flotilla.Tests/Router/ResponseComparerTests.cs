using System.Text;
using Flotilla.Router.Mirror;

namespace Flotilla.Tests.Router;

/// <summary>How two answers to the same request are compared.</summary>
public sealed class ResponseComparerTests
{
    private static MirrorPolicy Policy(bool sets = false, string[]? ignore = null, string[]? headers = null) =>
        new("v2", 100, ["GET"], 1024, headers ?? [], ignore ?? [], sets);

    private static Capture Json(string json, int status = 200, Dictionary<string, string>? headers = null) =>
        new(status, headers ?? [], Encoding.UTF8.GetBytes(json), "", json.Length);

    [Fact]
    public void Json_IsComparedFieldByField_WithPaths()
    {
        var differences = ResponseComparer.Compare(
            Json("""{"id": 1, "items": [{"price": 7.5, "name": "cup"}, {"price": 2}], "extra": true}"""),
            Json("""{"id": 1, "items": [{"price": 8, "name": "cup"}, {"price": 2}, {"price": 3}], "new": 1}"""), Policy());
        Assert.Equal(["$.items[0].price", "$.items[2]", "$.extra", "$.new"], differences.Select(d => d.Path));
        Assert.Equal(("7.5", "8"), (differences[0].Stable, differences[0].Candidate));
        Assert.Equal("$.items[*].price", ResponseComparer.Normalize(differences[0].Path));
    }

    [Fact]
    public void WhitespaceKeyOrderAndNumberSpelling_AreNotDifferences()
    {
        Assert.Empty(ResponseComparer.Compare(Json("""{"a":1,"b":[1,2]}"""), Json("""{ "b": [1, 2], "a": 1 }"""), Policy()));
        Assert.Empty(ResponseComparer.Compare(Json("""{"n": 5.0, "m": 1e2}"""), Json("""{"n": 5, "m": 100}"""), Policy()));
    }

    [Fact]
    public void ArraysAsSets_IgnoreOrder_ButNotContent()
    {
        Assert.Empty(ResponseComparer.Compare(Json("[3, 1, 2]"), Json("[1, 2, 3]"), Policy(sets: true)));
        Assert.Single(ResponseComparer.Compare(Json("[3, 1, 2]"), Json("[1, 2, 3]"), Policy()), d => d.Path == "$[0]");
        var different = Assert.Single(ResponseComparer.Compare(Json("[1, 2]"), Json("[1, 4]"), Policy(sets: true)));
        Assert.Equal(("$[*]", "2", "4"), (different.Path, different.Stable, different.Candidate));
    }

    [Fact]
    public void IgnoredPaths_CoverSubtrees_AndEveryElement()
    {
        var differences = ResponseComparer.Compare(
            Json("""{"meta": {"at": 1, "by": "a"}, "rows": [{"ts": 1, "v": 1}, {"ts": 2, "v": 2}]}"""),
            Json("""{"meta": {"at": 2, "by": "b"}, "rows": [{"ts": 5, "v": 1}, {"ts": 6, "v": 3}]}"""), Policy(ignore: ["$.meta", "$.rows[*].ts"]));
        Assert.Equal("$.rows[1].v", Assert.Single(differences).Path);
    }

    [Fact]
    public void StatusHeadersAndOtherBodies_AreCompared_AndSecretsNeverShown()
    {
        var differences = ResponseComparer.Compare(
            new Capture(200, new Dictionary<string, string> { ["content-type"] = "text/plain" }, "hello"u8.ToArray(), "", 5),
            new Capture(404, new Dictionary<string, string> { ["content-type"] = "text/html" }, "hullo"u8.ToArray(), "", 5), Policy(headers: ["Content-Type"]));
        Assert.Equal(["status", "header:Content-Type", "body"], differences.Select(d => d.Path));
        var secret = Assert.Single(ResponseComparer.Compare(Json("""{"user": {"apiKey": "abc"}}"""), Json("""{"user": {"apiKey": "xyz"}}"""), Policy()));
        Assert.Equal(("[redacted]", "[redacted]"), (secret.Stable, secret.Candidate));
    }

    [Fact]
    public void BodiesAboveTheLimit_AreComparedByHash_AndSaySo()
    {
        var big = new Capture(200, new Dictionary<string, string>(), null, "aaaaaaaaaaaaaaaa", 5000);
        Assert.Empty(ResponseComparer.Compare(big, big with { }, Policy()));
        var difference = Assert.Single(ResponseComparer.Compare(big, big with { BodyHash = "bbbbbbbbbbbbbbbb" }, Policy()));
        Assert.StartsWith("body (hashed", difference.Path, StringComparison.Ordinal);
    }
}
