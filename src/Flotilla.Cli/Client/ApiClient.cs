using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text.Json;
using Flotilla.Api;

namespace Flotilla.Cli.Client;

/// <summary>The CLI's side of the API: bearer token, JSON, and a refusal turned into a readable error.</summary>
internal sealed class ApiClient : IDisposable
{
    private readonly HttpClient _http;
    private readonly ClientConfig _config;
    private readonly ServerTrust _trust;
    private readonly string? _tenant;

    /// <param name="environment">The environment every request acts on (sent as X-Flotilla-Environment); null: the server's first.</param>
    /// <param name="tenant">The tenant a server-wide token acts in (sent as X-Flotilla-Tenant); null: default, or the token's own.</param>
    /// <param name="cluster">In an environment over clusters, the cluster every request acts on (sent as X-Flotilla-Cluster).</param>
    public ApiClient(ClientConfig config, string? environment = null, string? tenant = null, string? cluster = null)
    {
        _config = config;
        _tenant = tenant;
        if (config.Server is null)
        {
            throw new ApiException("no Flotilla server configured: start one with 'flotilla server --data <dir>' (it writes the config), or pass --server and --token (or FLOTILLA_SERVER, FLOTILLA_TOKEN)");
        }
        if (!Uri.TryCreate(config.Server.TrimEnd('/') + "/", UriKind.Absolute, out var server) || (server.Scheme != Uri.UriSchemeHttp && server.Scheme != Uri.UriSchemeHttps))
        {
            throw new ApiException($"the server URL '{config.Server}' is not an http:// or https:// URL, e.g. https://flotilla.example:7070");
        }
        _trust = new ServerTrust(server, config.Fingerprint, config.CaFile);
        _http = new HttpClient(_trust.Handler()) { BaseAddress = server, Timeout = Timeout.InfiniteTimeSpan };
        if (config.Token is not null)
        {
            _http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", config.Token);
        }
        if (environment is not null)
        {
            _http.DefaultRequestHeaders.Add(Hosting.ControlPlanes.EnvironmentHeader, environment);
        }
        if (tenant is not null)
        {
            _http.DefaultRequestHeaders.Add(Api.ApiAuth.TenantHeader, tenant);
        }
        if (cluster is not null)
        {
            _http.DefaultRequestHeaders.Add(Federation.Federations.ClusterHeader, cluster);
        }
    }

    /// <summary>The server, token and trust this client uses (what <c>flotilla login</c> saves once it answered).</summary>
    public ClientConfig Config => _config;

    /// <summary>The tenant named with --tenant (null: the token's own, or default).</summary>
    public string? Tenant => _tenant;

    /// <summary>The same server and token, acting on another environment.</summary>
    public ApiClient For(string environment) => new(_config, environment, _tenant);

    public async Task<T> GetAsync<T>(string path, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, path), cancellationToken);
        return (await response.Content.ReadFromJsonAsync<T>(ApiJson.Options, cancellationToken))!;
    }

    /// <summary>The raw JSON of a GET, for <c>-o json</c>.</summary>
    public async Task<string> GetRawAsync(string path, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Get, path), cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    public async Task<string> PostAsync(string path, object? body, CancellationToken cancellationToken = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Post, path) { Content = JsonContent.Create(body ?? new { }, options: ApiJson.Options) };
        using var response = await SendAsync(request, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    /// <summary>POSTs bytes as they are (a queue message), with their content type.</summary>
    public async Task<string> PostBytesAsync(string path, byte[] body, string contentType, CancellationToken cancellationToken = default)
    {
        var content = new ByteArrayContent(body);
        content.Headers.ContentType = MediaTypeHeaderValue.Parse(contentType);
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Post, path) { Content = content }, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    public async Task<string> PutAsync(string path, object body, CancellationToken cancellationToken = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Put, path) { Content = JsonContent.Create(body, options: ApiJson.Options) };
        using var response = await SendAsync(request, cancellationToken);
        return await response.Content.ReadAsStringAsync(cancellationToken);
    }

    public async Task<T> PatchAsync<T>(string path, System.Text.Json.Nodes.JsonObject body, CancellationToken cancellationToken = default)
    {
        var request = new HttpRequestMessage(HttpMethod.Patch, path) { Content = new StringContent(body.ToJsonString(), System.Text.Encoding.UTF8, "application/json") };
        using var response = await SendAsync(request, cancellationToken);
        return (await response.Content.ReadFromJsonAsync<T>(ApiJson.Options, cancellationToken))!;
    }

    public async Task<T> DeleteAsync<T>(string path, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Delete, path), cancellationToken);
        return (await response.Content.ReadFromJsonAsync<T>(ApiJson.Options, cancellationToken))!;
    }

    /// <summary>A GET whose 4xx answers are data, not refusals (flag evaluation answers as OFREP does): status and body.</summary>
    public async Task<(int Status, string Body)> GetAnswerAsync(string path, CancellationToken cancellationToken = default)
    {
        try
        {
            using var response = await _http.GetAsync(path, cancellationToken);
            if ((int)response.StatusCode is 401 or 403 or >= 500)
            {
                using var again = await SendAsync(new HttpRequestMessage(HttpMethod.Get, path), cancellationToken);
            }
            return ((int)response.StatusCode, await response.Content.ReadAsStringAsync(cancellationToken));
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
    }

    public async Task DeleteAsync(string path, CancellationToken cancellationToken = default)
    {
        using var response = await SendAsync(new HttpRequestMessage(HttpMethod.Delete, path), cancellationToken);
    }

    /// <summary>A streaming GET (events, logs): the caller reads the body as it comes.</summary>
    public async Task<HttpResponseMessage> StreamAsync(string path, CancellationToken cancellationToken) =>
        await SendAsync(new HttpRequestMessage(HttpMethod.Get, path), cancellationToken, HttpCompletionOption.ResponseHeadersRead);

    private async Task<HttpResponseMessage> SendAsync(HttpRequestMessage request, CancellationToken cancellationToken, HttpCompletionOption completion = HttpCompletionOption.ResponseContentRead)
    {
        HttpResponseMessage response;
        try
        {
            response = await _http.SendAsync(request, completion, cancellationToken);
        }
        catch (HttpRequestException e)
        {
            throw Unreachable(e);
        }
        if (response.IsSuccessStatusCode)
        {
            return response;
        }
        using (response)
        {
            var text = await response.Content.ReadAsStringAsync(cancellationToken);
            ApiErrors.Problem? problem = null;
            try
            {
                problem = JsonSerializer.Deserialize<ApiErrors.Problem>(text, ApiJson.Options);
            }
            catch (JsonException)
            {
            }
            throw new ApiException(problem?.Title ?? $"{(int)response.StatusCode} {response.ReasonPhrase}", problem?.Detail, problem?.Errors ?? [], response.StatusCode);
        }
    }

    /// <summary>A certificate refused in the handshake says why (both fingerprints, the fix); anything else that the server cannot be reached.</summary>
    private ApiException Unreachable(HttpRequestException e) =>
        _trust.Refusal is { } refusal && e.InnerException is System.Security.Authentication.AuthenticationException
            ? new ApiException(refusal)
            : new ApiException($"cannot reach the Flotilla server at {_http.BaseAddress}: {e.Message}");

    public void Dispose() => _http.Dispose();
}

/// <summary>A refusal or failure of the API, with its status, detail and itemised errors.</summary>
internal sealed class ApiException(string message, string? detail = null, IReadOnlyList<string>? errors = null, HttpStatusCode? status = null) : Exception(message)
{
    public string? Detail { get; } = detail;
    public IReadOnlyList<string> Errors { get; } = errors ?? [];
    public HttpStatusCode? Status { get; } = status;
}
