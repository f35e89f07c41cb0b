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
/// resourceVersion) and records every request. A path may be made to fail with a Status object, as
/// a real API server refuses (403 Forbidden, 422 Invalid).
/// </summary>
internal sealed class RecordingApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly ConcurrentDictionary<string, (int Status, string Message)> _failures = new(StringComparer.Ordinal);
    private int _version;

    private RecordingApiServer(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    public IReadOnlyList<RecordedRequest> Requests => _requests.ToList();

    public void Fail(string path, int status, string message) => _failures[path] = (status, message);

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
        if (context.Request.Method != "PATCH" || JsonNode.Parse(body) is not JsonObject item)
        {
            context.Response.StatusCode = 404;
            return;
        }
        item["metadata"]!["resourceVersion"] = Interlocked.Increment(ref _version).ToString(System.Globalization.CultureInfo.InvariantCulture);
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(item.ToJsonString());
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
