using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Logging;

namespace Flotilla.Tests.Kubernetes;

/// <summary>
/// The part of the Kubernetes API that <c>apply</c> uses, as a recorded contract: on 127.0.0.1, it
/// answers a server-side apply PATCH as the API server does (the object back, with a
/// resourceVersion) and keeps the object, so GET of it (a Deployment with a status: all its replicas
/// available unless <see cref="Unavailable"/>), LIST by label selector and DELETE answer as they
/// would; it records every request. A path may be made to fail with a Status object, as a real API
/// server refuses (403 Forbidden, 422 Invalid).
/// </summary>
internal sealed class RecordingApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly ConcurrentDictionary<string, (int Status, string Message)> _failures = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, JsonObject> _objects = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _unavailable = new(StringComparer.Ordinal);
    private int _version;

    private RecordingApiServer(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    public IReadOnlyList<RecordedRequest> Requests => _requests.ToList();

    public void Fail(string path, int status, string message) => _failures[path] = (status, message);

    /// <summary>The Deployment of that name has no available replica (its pods never become ready).</summary>
    public void Unavailable(string deployment) => _unavailable[deployment] = true;

    /// <summary>The paths of the objects the server holds now.</summary>
    public IReadOnlyCollection<string> Objects => _objects.Keys.ToList();

    public static async Task<RecordingApiServer> StartAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls("http://127.0.0.1:0");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        var server = new RecordingApiServer(app);
        app.Run(server.HandleAsync);
        await app.StartAsync();
        server.Url = app.Services.GetRequiredService<Microsoft.AspNetCore.Hosting.Server.IServer>().Features.Get<IServerAddressesFeature>()!.Addresses.Single();
        return server;
    }

    private async Task HandleAsync(HttpContext context)
    {
        var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
        var path = context.Request.Path.Value!;
        _requests.Enqueue(new RecordedRequest(context.Request.Method, path, context.Request.QueryString.Value ?? "", context.Request.ContentType, body));
        if (_failures.TryGetValue(path, out var failure))
        {
            context.Response.StatusCode = failure.Status;
            context.Response.ContentType = "application/json";
            await context.Response.WriteAsync(new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Failure", ["message"] = failure.Message, ["code"] = failure.Status }.ToJsonString());
            return;
        }
        context.Response.ContentType = "application/json";
        switch (context.Request.Method)
        {
            case "PATCH" when JsonNode.Parse(body) is JsonObject item:
                item["metadata"]!["resourceVersion"] = Interlocked.Increment(ref _version).ToString(System.Globalization.CultureInfo.InvariantCulture);
                item["metadata"]!["generation"] = 1;
                _objects[path] = item;
                await context.Response.WriteAsync(item.ToJsonString());
                return;
            case "GET" when _objects.TryGetValue(path, out var found):
                await context.Response.WriteAsync(WithStatus(found).ToJsonString());
                return;
            case "GET" when path.Split('/').Length % 2 == (path.StartsWith("/api/", StringComparison.Ordinal) ? 0 : 1):
                // A collection (/api/v1/namespaces/NS/KIND or /apis/GROUP/VERSION/namespaces/NS/KIND): its items by label selector.
                var wanted = (context.Request.Query["labelSelector"].ToString() ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2)).ToList();
                var items = new JsonArray(_objects.Where(o => o.Key.StartsWith(path + "/", StringComparison.Ordinal) && !o.Key[(path.Length + 1)..].Contains('/'))
                    .Where(o => wanted.All(w => (string?)o.Value["metadata"]?["labels"]?[w[0]] == w[1])).OrderBy(o => o.Key, StringComparer.Ordinal)
                    .Select(o => (JsonNode)WithStatus(o.Value)).ToArray());
                await context.Response.WriteAsync(new JsonObject { ["kind"] = "List", ["apiVersion"] = "v1", ["metadata"] = new JsonObject { ["resourceVersion"] = _version.ToString(System.Globalization.CultureInfo.InvariantCulture) }, ["items"] = items }.ToJsonString());
                return;
            case "DELETE" when _objects.TryRemove(path, out var deleted):
                // Services answer with the object, the others with a Status, as the API's OpenAPI document says.
                await context.Response.WriteAsync(path.Contains("/services/", StringComparison.Ordinal) ? deleted.ToJsonString()
                    : new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Success" }.ToJsonString());
                return;
            default:
                context.Response.StatusCode = 404;
                await context.Response.WriteAsync(new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Failure", ["reason"] = "NotFound", ["code"] = 404, ["message"] = $"{path} not found" }.ToJsonString());
                return;
        }
    }

    private JsonObject WithStatus(JsonObject item)
    {
        var copy = item.DeepClone().AsObject();
        if ((string?)copy["kind"] == "Deployment")
        {
            var replicas = (int?)copy["spec"]?["replicas"] ?? 1;
            var available = _unavailable.ContainsKey((string)copy["metadata"]!["name"]!) ? 0 : replicas;
            copy["status"] = new JsonObject { ["observedGeneration"] = 1, ["replicas"] = replicas, ["updatedReplicas"] = replicas, ["availableReplicas"] = available, ["readyReplicas"] = available };
        }
        return copy;
    }

    /// <summary>A kubeconfig naming this server under <paramref name="context"/> (and a second context that is not this server).</summary>
    public string Kubeconfig(string context) => $"""
        apiVersion: v1
        kind: Config
        current-context: elsewhere
        clusters:
        - name: recorded
          cluster: {"{"} server: "{Url}" {"}"}
        - name: other
          cluster: {"{"} server: "http://127.0.0.1:1" {"}"}
        users:
        - name: tester
          user: {"{"} token: "t0ken" {"}"}
        contexts:
        - name: {context}
          context: {"{"} cluster: recorded, user: tester {"}"}
        - name: elsewhere
          context: {"{"} cluster: other, user: tester {"}"}
        """;

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync();
        await _app.DisposeAsync();
    }
}

internal sealed record RecordedRequest(string Method, string Path, string Query, string? ContentType, string Body);
