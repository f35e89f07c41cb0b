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
/// resourceVersion, and a creationTimestamp and uid from its creation) and keeps the object, so GET of
/// it (a Deployment with a status: all its replicas available unless <see cref="Unavailable"/>), LIST
/// by label selector and DELETE answer as they would; it records every request. A path may be made to
/// fail with a Status object, as a real API server refuses (403 Forbidden, 422 Invalid).
/// What the real server decides on an update is modelled where apply depends on it:
/// <list type="bullet">
/// <item>A Service's clusterIP is allocated on create, and an update that omits it keeps the one held,
/// "None" included (patchAllocatedValues, pkg/registry/core/service/strategy.go); an update that asks for
/// another is refused with 422 "may not change once set" on spec.clusterIPs[0] (ValidateServiceUpdate).</item>
/// <item>A Deployment's spec.selector is immutable (apps/v1): changed, 422 "field is immutable".</item>
/// <item>ResourceQuota admission of pods, the <c>pods</c> hard limit only: each Deployment of a namespace, in
/// the order they were created, gets the pods the quota still allows (its ReplicaSet's other pods are refused),
/// and only admitted pods are replicas and can be available. A deleted Deployment's pods are gone at once
/// (a real one's count until their grace period ends, which only delays the new pods).</item>
/// <item>A DELETE of an object <see cref="Lingers"/> marks it with a deletionTimestamp and removes it later,
/// as a finalizer holds it on a real server; an apply meanwhile updates the terminating object.</item>
/// </list>
/// </summary>
internal sealed class RecordingApiServer : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly ConcurrentDictionary<string, (int Status, string Message)> _failures = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, JsonObject> _objects = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, bool> _unavailable = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, long> _created = new(StringComparer.Ordinal);
    private readonly ConcurrentDictionary<string, TimeSpan> _lingering = new(StringComparer.Ordinal);
    private readonly Lock _writes = new();
    private int _version;
    private long _creations;
    private int _clusterIps;

    private RecordingApiServer(WebApplication app) => _app = app;

    public string Url { get; private set; } = "";

    public IReadOnlyList<RecordedRequest> Requests => _requests.ToList();

    public void Fail(string path, int status, string message) => _failures[path] = (status, message);

    /// <summary>The Deployment of that name has no available replica (its pods never become ready).</summary>
    public void Unavailable(string deployment) => _unavailable[deployment] = true;

    /// <summary>A DELETE of the object at <paramref name="path"/> leaves it terminating for <paramref name="delay"/> (a finalizer holds it).</summary>
    public void Lingers(string path, TimeSpan delay) => _lingering[path] = delay;

    /// <summary>The object the server holds at <paramref name="path"/>, as a GET would answer it, or null.</summary>
    public JsonObject? Object(string path) => _objects.TryGetValue(path, out var found) ? WithStatus(path, found) : null;

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
                if (Admit(path, item) is { } refusal)
                {
                    context.Response.StatusCode = 422;
                    await context.Response.WriteAsync(refusal.ToJsonString());
                    return;
                }
                await context.Response.WriteAsync(item.ToJsonString());
                return;
            case "GET" when _objects.TryGetValue(path, out var found):
                await context.Response.WriteAsync(WithStatus(path, found).ToJsonString());
                return;
            case "GET" when path.Split('/').Length % 2 == (path.StartsWith("/api/", StringComparison.Ordinal) ? 0 : 1):
                // A collection (/api/v1/namespaces/NS/KIND or /apis/GROUP/VERSION/namespaces/NS/KIND): its items by label selector.
                var wanted = (context.Request.Query["labelSelector"].ToString() ?? "").Split(',', StringSplitOptions.RemoveEmptyEntries).Select(l => l.Split('=', 2)).ToList();
                var items = new JsonArray(_objects.Where(o => o.Key.StartsWith(path + "/", StringComparison.Ordinal) && !o.Key[(path.Length + 1)..].Contains('/'))
                    .Where(o => wanted.All(w => (string?)o.Value["metadata"]?["labels"]?[w[0]] == w[1])).OrderBy(o => o.Key, StringComparer.Ordinal)
                    .Select(o => (JsonNode)WithStatus(o.Key, o.Value)).ToArray());
                await context.Response.WriteAsync(new JsonObject { ["kind"] = "List", ["apiVersion"] = "v1", ["metadata"] = new JsonObject { ["resourceVersion"] = _version.ToString(System.Globalization.CultureInfo.InvariantCulture) }, ["items"] = items }.ToJsonString());
                return;
            case "DELETE" when _objects.TryGetValue(path, out var deleted):
                if (body.Length > 0 && JsonNode.Parse(body)?["preconditions"]?["uid"] is { } uid && (string?)uid != (string?)deleted["metadata"]?["uid"])
                {
                    context.Response.StatusCode = 409;
                    await context.Response.WriteAsync(new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = "Failure", ["reason"] = "Conflict", ["code"] = 409, ["message"] = $"Precondition failed: UID in precondition: {uid}, UID in object meta: {deleted["metadata"]?["uid"]}" }.ToJsonString());
                    return;
                }
                if (_lingering.TryRemove(path, out var delay))
                {
                    deleted["metadata"]!["deletionTimestamp"] = Timestamp(DateTime.UtcNow);
                    _ = Task.Delay(delay).ContinueWith(_ => Remove(path), TaskScheduler.Default);
                }
                else
                {
                    Remove(path);
                }
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

    private void Remove(string path)
    {
        lock (_writes)
        {
            _objects.TryRemove(path, out _);
            _created.TryRemove(path, out _);
        }
    }

    /// <summary>
    /// Stores an applied object as the API server would, or returns the Status it refuses the update with.
    /// A create gets a creationTimestamp (whole seconds, as the server writes it), a uid and, for a Service, a
    /// cluster IP; an update keeps them.
    /// </summary>
    private JsonObject? Admit(string path, JsonObject item)
    {
        lock (_writes)
        {
            var metadata = item["metadata"]!.AsObject();
            var name = (string?)metadata["name"] ?? "";
            if (_objects.TryGetValue(path, out var old))
            {
                foreach (var kept in (string[])["creationTimestamp", "uid", "deletionTimestamp"])
                {
                    if (old["metadata"]?[kept] is { } value)
                    {
                        metadata[kept] = value.DeepClone();
                    }
                }
                if ((string?)item["kind"] == "Service" && KeepClusterIp(name, old, item) is { } refused)
                {
                    return refused;
                }
                if ((string?)item["kind"] == "Deployment" && !JsonNode.DeepEquals(old["spec"]?["selector"], item["spec"]?["selector"]))
                {
                    return Invalid("Deployment.apps", name, "spec.selector", $"Invalid value: {item["spec"]?["selector"]?.ToJsonString()}: field is immutable");
                }
            }
            else
            {
                metadata["creationTimestamp"] = Timestamp(DateTime.UtcNow);
                metadata["uid"] = Guid.NewGuid().ToString();
                _created[path] = Interlocked.Increment(ref _creations);
                if ((string?)item["kind"] == "Service" && item["spec"] is JsonObject spec)
                {
                    spec["type"] ??= "ClusterIP";
                    spec["clusterIP"] ??= $"10.96.0.{Interlocked.Increment(ref _clusterIps)}";
                    spec["clusterIPs"] ??= new JsonArray((string?)spec["clusterIP"]);
                }
            }
            metadata["resourceVersion"] = Interlocked.Increment(ref _version).ToString(System.Globalization.CultureInfo.InvariantCulture);
            metadata["generation"] = 1;
            _objects[path] = item;
            return null;
        }
    }

    /// <summary>patchAllocatedValues, then ValidateServiceUpdate's check of the primary cluster IP.</summary>
    private static JsonObject? KeepClusterIp(string name, JsonObject old, JsonObject item)
    {
        var held = (string?)old["spec"]?["clusterIP"];
        if (item["spec"] is not JsonObject spec || held is null)
        {
            return null;
        }
        if (spec["clusterIP"] is null)
        {
            spec["clusterIP"] = held;
            spec["clusterIPs"] ??= old["spec"]?["clusterIPs"]?.DeepClone();
            return null;
        }
        return (string?)spec["clusterIP"] == held ? null
            : Invalid("Service", name, "spec.clusterIPs[0]", $"Invalid value: []string{{\"{(string?)spec["clusterIP"]}\"}}: may not change once set");
    }

    /// <summary>A 422 Status as the API server writes it for a refused field.</summary>
    private static JsonObject Invalid(string kind, string name, string field, string message) => new()
    {
        ["kind"] = "Status",
        ["apiVersion"] = "v1",
        ["metadata"] = new JsonObject(),
        ["status"] = "Failure",
        ["message"] = $"{kind} \"{name}\" is invalid: {field}: {message}",
        ["reason"] = "Invalid",
        ["details"] = new JsonObject
        {
            ["name"] = name,
            ["kind"] = kind.Split('.')[0].ToLowerInvariant() + "s",
            ["causes"] = new JsonArray(new JsonObject { ["reason"] = "FieldValueInvalid", ["message"] = message, ["field"] = field }),
        },
        ["code"] = 422,
    };

    private static string Timestamp(DateTime time) => time.ToString("yyyy-MM-ddTHH:mm:ssZ", System.Globalization.CultureInfo.InvariantCulture);

    private JsonObject WithStatus(string path, JsonObject item)
    {
        var copy = item.DeepClone().AsObject();
        if ((string?)copy["kind"] == "Deployment")
        {
            var replicas = (int?)copy["spec"]?["replicas"] ?? 1;
            var pods = Math.Min(replicas, PodsAdmitted(path));
            var available = _unavailable.ContainsKey((string)copy["metadata"]!["name"]!) ? 0 : pods;
            copy["status"] = new JsonObject { ["observedGeneration"] = 1, ["replicas"] = pods, ["updatedReplicas"] = pods, ["availableReplicas"] = available, ["readyReplicas"] = available };
        }
        return copy;
    }

    /// <summary>
    /// How many pods the namespace's ResourceQuota admits for the Deployment at <paramref name="path"/>: what
    /// its <c>pods</c> hard limit leaves after the Deployments created before it (no quota: no limit).
    /// </summary>
    private int PodsAdmitted(string path)
    {
        var ns = path.Split('/')[5];
        var prefix = $"/apis/apps/v1/namespaces/{ns}/deployments/";
        var limits = _objects.Where(o => o.Key.StartsWith($"/api/v1/namespaces/{ns}/resourcequotas/", StringComparison.Ordinal))
            .Select(o => int.TryParse(o.Value["spec"]?["hard"]?["pods"]?.ToString(), out var hard) ? hard : int.MaxValue).ToList();
        var left = limits.Count == 0 ? int.MaxValue : limits.Min();
        foreach (var (other, _) in _created.Where(c => c.Key.StartsWith(prefix, StringComparison.Ordinal)).OrderBy(c => c.Value))
        {
            var wants = _objects.TryGetValue(other, out var deployment) ? (int?)deployment["spec"]?["replicas"] ?? 1 : 0;
            var admitted = Math.Min(wants, left);
            if (other == path)
            {
                return admitted;
            }
            left -= admitted;
        }
        return 0;
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

internal sealed record RecordedRequest(string Method, string Path, string Query, string? ContentType, string Body, string? Accept = null);
