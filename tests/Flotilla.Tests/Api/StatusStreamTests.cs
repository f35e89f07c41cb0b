using System.Net;
using System.Net.Http.Json;
using System.Text.Json.Nodes;
using Flotilla.Api;

namespace Flotilla.Tests.Api;

/// <summary>GET /v1/status/stream and /v1/whoami (what the dashboard reads), and the dashboard's files at /ui.</summary>
public sealed class StatusStreamTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(30);

    /// <summary>Reads Server-Sent Events of one type from a streaming response, one data payload at a time.</summary>
    private static async Task<JsonNode> NextAsync(StreamReader reader, string type, TimeSpan? within = null)
    {
        using var timeout = new CancellationTokenSource(within ?? Wait);
        string? evt = null;
        while (await reader.ReadLineAsync(timeout.Token) is { } line)
        {
            if (line.StartsWith("event: ", StringComparison.Ordinal))
            {
                evt = line["event: ".Length..];
            }
            else if (line.StartsWith("data: ", StringComparison.Ordinal) && evt == type)
            {
                return JsonNode.Parse(line["data: ".Length..])!;
            }
        }
        throw new EndOfStreamException("the stream ended");
    }

    [Fact]
    public async Task StatusStream_SendsTheStatusAtOnce_ThenAgainWhenItChanges_AndNotWhenNothingChanged()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/status/stream");
        using var response = await api.Reader.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        Assert.Equal("text/event-stream", response.Content.Headers.ContentType?.MediaType);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());

        var first = await NextAsync(reader, "status");
        var revision = (long)first["system"]!["revision"]!;
        Assert.NotNull(first["system"]!["services"]!.AsArray());
        Assert.NotNull(first["releases"]!.AsArray());

        var applied = await api.ApplyAsync(api.Admin, ApiFixture.Spec(extra: $"\n    env: {{ STREAM: \"{Guid.NewGuid():N}\" }}"));
        Assert.Equal(HttpStatusCode.Created, applied.StatusCode);
        var next = await NextAsync(reader, "status");
        // What changed arrives; a message with nothing new is never sent, so the next one shows the new revision.
        Assert.True((long)next["system"]!["revision"]! > revision, $"expected a revision after {revision}: {next.ToJsonString()}");
        Assert.True((long)next["lastEvent"]! >= (long)first["lastEvent"]!);
    }

    [Fact]
    public async Task StatusStream_SendsNothingMore_WhileNothingChanges()
    {
        using var request = new HttpRequestMessage(HttpMethod.Get, "v1/status/stream");
        using var response = await api.Reader.SendAsync(request, HttpCompletionOption.ResponseHeadersRead);
        using var reader = new StreamReader(await response.Content.ReadAsStreamAsync());
        await NextAsync(reader, "status");
        // It looks every second; three looks at an unchanged system send nothing.
        await Assert.ThrowsAnyAsync<OperationCanceledException>(() => NextAsync(reader, "status", TimeSpan.FromSeconds(3.5)));
    }

    [Fact]
    public async Task StatusStream_WithoutAToken_Is401()
    {
        var response = await api.Anonymous.GetAsync("v1/status/stream");
        Assert.Equal(HttpStatusCode.Unauthorized, response.StatusCode);
    }

    [Fact]
    public async Task WhoAmI_NamesTheTokenAndItsRole()
    {
        Assert.Equal(new CallerView("reader", "viewer", null, "default"), await api.Reader.GetFromJsonAsync<CallerView>("v1/whoami", ApiJson.Options));
        Assert.Equal(new CallerView("admin", "operator", null, "default"), await api.Admin.GetFromJsonAsync<CallerView>("v1/whoami", ApiJson.Options));
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.Anonymous.GetAsync("v1/whoami")).StatusCode);
    }

    [Fact]
    public async Task Dashboard_IsServedWithoutAToken_FromEmbeddedFiles_AndHoldsNoData()
    {
        using var noRedirects = new HttpClient(new HttpClientHandler { AllowAutoRedirect = false });
        var redirect = await noRedirects.GetAsync(api.Server.Url + "/ui");
        Assert.Equal(("/ui/", HttpStatusCode.Redirect), (redirect.Headers.Location?.OriginalString, redirect.StatusCode));
        var page = await api.Anonymous.GetAsync("ui/");
        Assert.Equal(HttpStatusCode.OK, page.StatusCode);
        Assert.Equal("text/html", page.Content.Headers.ContentType?.MediaType);
        Assert.Contains("default-src 'self'", page.Headers.GetValues("Content-Security-Policy").Single(), StringComparison.Ordinal);
        var html = await page.Content.ReadAsStringAsync();
        Assert.Contains("vendor/uplot/uPlot.iife.min.js", html, StringComparison.Ordinal);
        Assert.DoesNotContain("http", html.Replace("http-equiv", "", StringComparison.Ordinal), StringComparison.Ordinal);

        var script = await api.Anonymous.GetAsync("ui/app.js");
        Assert.Equal("text/javascript", script.Content.Headers.ContentType?.MediaType);
        Assert.Equal(HttpStatusCode.OK, (await api.Anonymous.GetAsync("ui/vendor/uplot/uPlot.iife.min.js")).StatusCode);
        Assert.Equal(HttpStatusCode.OK, (await api.Anonymous.GetAsync("ui/vendor/uplot/LICENSE")).StatusCode);

        var missing = await api.Anonymous.GetAsync("ui/nothing-here.js");
        Assert.Equal(HttpStatusCode.NotFound, missing.StatusCode);
        Assert.Contains("no file 'nothing-here.js'", await missing.Content.ReadAsStringAsync(), StringComparison.Ordinal);
        // The page is open; the data behind it is not.
        Assert.Equal(HttpStatusCode.Unauthorized, (await api.Anonymous.GetAsync("v1/status")).StatusCode);
    }
}
