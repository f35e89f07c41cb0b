using System.Collections.Concurrent;
using System.Text.Json.Nodes;
using System.Threading.Channels;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.Logging;

namespace Flotilla.Tests.Kubernetes;

/// <summary>
/// A small Kubernetes API server on 127.0.0.1 with just what the Kubernetes driver uses, over real
/// HTTP: LIST and WATCH of pods (a JSON line per event, resourceVersions, bookmarks-free, ended by
/// timeoutSeconds), LIST, server-side apply, merge patch of <c>spec.replicas</c> and DELETE of
/// ReplicaSets, and merge patch of a pod's annotations. Behind it, a ReplicaSet controller and a
/// kubelet as Kubernetes has them where the driver depends on it: a ReplicaSet keeps its count of
/// live pods; on a scale-down it removes unready pods first, then the lowest
/// <c>controller.kubernetes.io/pod-deletion-cost</c>, then the newest; a removed pod is terminating
/// (deletionTimestamp) for a moment, then gone. Pods run at once, Ready, at 127.0.0.1 (where the
/// test's listener answers the driver's probes). Every request is recorded, to be held to the contract.
/// What it does not do: authentication, field ownership (managedFields), other kinds, strategic merge.
/// </summary>
internal sealed partial class FakeApiServer : IAsyncDisposable
{
    private readonly object _gate = new();
    private readonly ConcurrentQueue<RecordedRequest> _requests = new();
    private readonly Dictionary<string, V1ReplicaSet> _replicaSets = new(StringComparer.Ordinal);
    private readonly Dictionary<string, V1Pod> _pods = new(StringComparer.Ordinal);
    private readonly List<(long Version, string Type, V1Pod Pod)> _history = [];
    private readonly List<Watcher> _watchers = [];
    private readonly TimeSpan _terminating;
    private WebApplication? _app;
    private long _version = 1;
    private int _port;
    private bool _stalled;

    private FakeApiServer(TimeSpan terminating) => _terminating = terminating;

    public string Url => $"http://127.0.0.1:{_port}";

    public IReadOnlyList<RecordedRequest> Requests => _requests.ToList();

    public static async Task<FakeApiServer> StartAsync(TimeSpan? terminating = null)
    {
        var server = new FakeApiServer(terminating ?? TimeSpan.FromMilliseconds(300));
        await server.UpAsync();
        return server;
    }

    /// <summary>Serves (again, on the same port after <see cref="DownAsync"/>).</summary>
    public async Task UpAsync()
    {
        var builder = WebApplication.CreateSlimBuilder();
        builder.WebHost.UseUrls($"http://127.0.0.1:{_port}");
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.Run(HandleAsync);
        await app.StartAsync();
        _port = new Uri(app.Urls.Single()).Port;
        _app = app;
    }

    /// <summary>The API server goes away: connections are refused and open watches break. The pods (the "cluster") run on.</summary>
    public async Task DownAsync()
    {
        if (_app is { } app)
        {
            _app = null;
            lock (_gate)
            {
                foreach (var watcher in _watchers)
                {
                    watcher.Events.Writer.TryComplete(new IOException("down"));
                }
            }
            using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(2));
            await app.StopAsync(stop.Token);
            await app.DisposeAsync();
        }
    }

    /// <summary>Open watches stay open but say nothing more: KubernetesClient's silent watch.</summary>
    public void StallWatches(bool stalled)
    {
        lock (_gate)
        {
            _stalled = stalled;
        }
    }

    /// <summary>Ends every open watch, as the server does at its timeout.</summary>
    public void EndWatches()
    {
        lock (_gate)
        {
            foreach (var watcher in _watchers)
            {
                watcher.Events.Writer.TryComplete();
            }
        }
    }

    public IReadOnlyList<V1Pod> Pods()
    {
        lock (_gate)
        {
            return _pods.Values.Select(Clone).ToList();
        }
    }

    public V1ReplicaSet? ReplicaSet(string name)
    {
        lock (_gate)
        {
            return _replicaSets.TryGetValue(name, out var set) ? Clone(set) : null;
        }
    }

    /// <summary>A pod deleted from outside (kubectl delete, an eviction): terminating, then gone, and its ReplicaSet replaces it.</summary>
    public void DeletePod(string name)
    {
        lock (_gate)
        {
            Terminate(name);
            Reconcile();
        }
    }

    /// <summary>The kubelet's readiness verdict on a pod.</summary>
    public void SetReady(string name, bool ready)
    {
        lock (_gate)
        {
            var pod = _pods[name];
            pod.Status.Conditions = [new V1PodCondition { Type = "Ready", Status = ready ? "True" : "False" }];
            Emit("MODIFIED", pod);
        }
    }

    private async Task HandleAsync(HttpContext context)
    {
        var body = await new StreamReader(context.Request.Body).ReadToEndAsync();
        var request = context.Request;
        var path = request.Path.Value!;
        _requests.Enqueue(new RecordedRequest(request.Method, path, request.QueryString.Value ?? "", request.ContentType, body, request.Headers.Accept.ToString()));
        var parts = path.Trim('/').Split('/');
        var selector = request.Query["labelSelector"].ToString();
        // /api/v1/namespaces/{ns}/pods[/{name}] and /apis/apps/v1/namespaces/{ns}/replicasets[/{name}]
        var (resource, name) = parts switch
        {
            ["api", "v1", "namespaces", _, "pods"] => ("pods", null),
            ["api", "v1", "namespaces", _, "pods", var n] => ("pods", n),
            ["api", "v1", "namespaces", _, "pods", var n, "log"] => ("pods/log", n),
            ["api", "v1", "namespaces", _, "secrets"] => ("secrets", null),
            ["api", "v1", "namespaces", _, "secrets", var n] => ("secrets", n),
            ["apis", "apps", "v1", "namespaces", _, "replicasets"] => ("replicasets", null),
            ["apis", "apps", "v1", "namespaces", _, "replicasets", var n] => ("replicasets", (string?)n),
            _ => ("", null),
        };
        var ns = parts.Length > 4 ? parts[parts[0] == "api" ? 3 : 4] : "";
        switch (request.Method, resource, name)
        {
            case ("GET", "pods", null) when request.Query["watch"] == "true" && _refuseWatches:
                await AnswerAsync(context, 403, Status(403, $"pods is forbidden: User \"tester\" cannot watch resource \"pods\" in API group \"\" in the namespace \"{ns}\""));
                return;
            case ("GET", "pods", null) when request.Query["watch"] == "true":
                await WatchAsync(context, selector, long.Parse(request.Query["resourceVersion"].ToString() is { Length: > 0 } rv ? rv : "0"),
                    int.TryParse(request.Query["timeoutSeconds"], out var seconds) ? seconds : 1800);
                return;
            case ("GET", "pods/log", { } logged):
                await PodLogAsync(context, logged);
                return;
            case ("PATCH", "secrets", { } secret) when request.ContentType?.StartsWith("application/apply-patch+yaml", StringComparison.Ordinal) == true:
                await AnswerAsync(context, ApplySecret(secret, ns, body));
                return;
            case ("GET", "secrets", null):
                await ListSecretsAsync(context, selector);
                return;
            case ("DELETE", "secrets", { } secret):
                await AnswerAsync(context, DeleteSecret(secret, body));
                return;
            case ("GET", "pods", null):
                await ListAsync(context, "PodList", "v1", () => _pods.Values.Where(p => Matches(p.Metadata.Labels, selector)).Cast<object>());
                return;
            case ("GET", "replicasets", null):
                await ListAsync(context, "ReplicaSetList", "apps/v1", () => _replicaSets.Values.Where(r => Matches(r.Metadata.Labels, selector)).Cast<object>());
                return;
            case ("PATCH", "replicasets", { } rs) when request.ContentType?.StartsWith("application/apply-patch+yaml", StringComparison.Ordinal) == true && _refuseReplicaSets is > 0 and var refusal:
                await AnswerAsync(context, refusal, Status(refusal, $"replicasets.apps \"{rs}\" is forbidden: refused by an admission webhook (the test's)"));
                return;
            case ("PATCH", "replicasets", { } rs) when request.ContentType?.StartsWith("application/apply-patch+yaml", StringComparison.Ordinal) == true:
                await AnswerAsync(context, 200, Apply(rs, ns, body));
                return;
            case ("PATCH", "replicasets", { } rs) when request.ContentType?.StartsWith("application/merge-patch+json", StringComparison.Ordinal) == true:
                await AnswerAsync(context, Scale(rs, body));
                return;
            case ("PATCH", "pods", { } pod) when request.ContentType?.StartsWith("application/merge-patch+json", StringComparison.Ordinal) == true:
                await AnswerAsync(context, Annotate(pod, body));
                return;
            case ("DELETE", "replicasets", { } rs):
                await AnswerAsync(context, Delete(rs));
                return;
            case ("GET", "", null) when path.TrimEnd('/') == "/version":
                await AnswerAsync(context, 200, VersionJson);
                return;
            default:
                await AnswerAsync(context, 404, Status(404, $"the fake API server does not serve {request.Method} {path}"));
                return;
        }
    }

    /// <summary>
    /// A list as of one moment; <paramref name="emptyAsNull"/>: no items come as null, as the real server
    /// answers a PartialObjectMetadataList; <paramref name="listed"/> runs under the lock once it is taken, before it is sent.
    /// </summary>
    private async Task ListAsync(HttpContext context, string kind, string apiVersion, Func<IEnumerable<object>> items, bool emptyAsNull = false, Action? listed = null)
    {
        string json;
        lock (_gate)
        {
            var nodes = items().Select(i => JsonNode.Parse(KubernetesJson.Serialize(i))).ToArray();
            json = new JsonObject
            {
                ["kind"] = kind,
                ["apiVersion"] = apiVersion,
                ["metadata"] = new JsonObject { ["resourceVersion"] = _version.ToString(System.Globalization.CultureInfo.InvariantCulture) },
                ["items"] = nodes.Length == 0 && emptyAsNull ? null : new JsonArray(nodes),
            }.ToJsonString();
            listed?.Invoke();
        }
        await AnswerAsync(context, 200, json);
    }

    private async Task WatchAsync(HttpContext context, string selector, long since, int timeoutSeconds)
    {
        var watcher = new Watcher(selector, Channel.CreateUnbounded<string>());
        lock (_gate)
        {
            foreach (var (version, type, pod) in _history.Where(h => h.Version > since && Matches(h.Pod.Metadata.Labels, selector)))
            {
                watcher.Events.Writer.TryWrite(Event(type, pod));
            }
            _watchers.Add(watcher);
        }
        context.Response.ContentType = "application/json";
        await context.Response.StartAsync();
        using var timeout = CancellationTokenSource.CreateLinkedTokenSource(context.RequestAborted);
        timeout.CancelAfter(TimeSpan.FromSeconds(timeoutSeconds));
        await StreamAsync(context, watcher.Events.Reader, "\n", timeout.Token, () => _watchers.Remove(watcher));
    }

    /// <summary>
    /// Writes each item of <paramref name="items"/> as it comes, flushed, until it completes or the request ends
    /// (a closed channel or a broken connection: cut, not ended, as when the server goes down); then, under the
    /// lock, <paramref name="gone"/> forgets the stream.
    /// </summary>
    private async Task StreamAsync(HttpContext context, ChannelReader<string> items, string separator, CancellationToken token, Action gone)
    {
        try
        {
            await foreach (var item in items.ReadAllAsync(token))
            {
                await context.Response.WriteAsync(item + separator, token);
                await context.Response.Body.FlushAsync(token);
            }
        }
        catch (OperationCanceledException)
        {
        }
        catch (Exception e) when (e is IOException or ChannelClosedException)
        {
            context.Abort();
        }
        finally
        {
            lock (_gate)
            {
                gone();
            }
        }
    }

    private string Apply(string name, string ns, string body)
    {
        lock (_gate)
        {
            var set = KubernetesJson.Deserialize<V1ReplicaSet>(body);
            set.Metadata.Name = name;
            set.Metadata.NamespaceProperty = ns;
            set.Metadata.Uid = _replicaSets.TryGetValue(name, out var old) ? old.Metadata.Uid : Guid.NewGuid().ToString();
            set.Metadata.ResourceVersion = (++_version).ToString(System.Globalization.CultureInfo.InvariantCulture);
            _replicaSets[name] = set;
            Reconcile();
            return KubernetesJson.Serialize(set);
        }
    }

    private (int, string) Scale(string name, string body)
    {
        lock (_gate)
        {
            if (!_replicaSets.TryGetValue(name, out var set))
            {
                return (404, Status(404, $"replicasets.apps \"{name}\" not found"));
            }
            if (JsonNode.Parse(body)?["spec"]?["replicas"] is not { } replicas)
            {
                return (422, Status(422, "the fake API server merges spec.replicas only"));
            }
            set.Spec.Replicas = (int)replicas;
            set.Metadata.ResourceVersion = (++_version).ToString(System.Globalization.CultureInfo.InvariantCulture);
            Reconcile();
            return (200, KubernetesJson.Serialize(set));
        }
    }

    private (int, string) Annotate(string name, string body)
    {
        lock (_gate)
        {
            if (!_pods.TryGetValue(name, out var pod))
            {
                return (404, Status(404, $"pods \"{name}\" not found"));
            }
            if (JsonNode.Parse(body)?["metadata"]?["annotations"] is not JsonObject annotations)
            {
                return (422, Status(422, "the fake API server merges metadata.annotations of pods only"));
            }
            pod.Metadata.Annotations ??= new Dictionary<string, string>();
            foreach (var (key, value) in annotations)
            {
                // A merge patch's null removes the key (RFC 7386).
                if (value is null)
                {
                    pod.Metadata.Annotations.Remove(key);
                }
                else
                {
                    pod.Metadata.Annotations[key] = (string)value!;
                }
            }
            Emit("MODIFIED", pod);
            return (200, KubernetesJson.Serialize(pod));
        }
    }

    private (int, string) Delete(string name)
    {
        lock (_gate)
        {
            if (!_replicaSets.Remove(name))
            {
                return (404, Status(404, $"replicasets.apps \"{name}\" not found"));
            }
            CollectSecrets(name);
            // Background propagation: the garbage collector removes its pods.
            foreach (var pod in _pods.Values.Where(p => p.Metadata.OwnerReferences?.Any(o => o.Name == name) == true).ToList())
            {
                Terminate(pod.Metadata.Name);
            }
            return (200, Status(200, "deleted"));
        }
    }

    /// <summary>The ReplicaSet controller: each ReplicaSet's live pods made to match its replicas.</summary>
    private void Reconcile()
    {
        foreach (var set in _replicaSets.Values)
        {
            var live = _pods.Values.Where(p => p.Metadata.DeletionTimestamp is null && p.Metadata.OwnerReferences?.Any(o => o.Name == set.Metadata.Name) == true).ToList();
            var wanted = set.Spec.Replicas ?? 1;
            for (var i = live.Count; i < wanted; i++)
            {
                Create(set);
            }
            // Kubernetes' ranking (ActivePodsWithRanks): not ready first, then lower deletion cost, then newer.
            foreach (var pod in live.OrderBy(p => IsReady(p) ? 1 : 0).ThenBy(Cost).ThenByDescending(p => p.Metadata.CreationTimestamp).ThenByDescending(p => p.Metadata.Name, StringComparer.Ordinal).Take(Math.Max(0, live.Count - wanted)))
            {
                Terminate(pod.Metadata.Name);
            }
        }
    }

    private void Create(V1ReplicaSet set)
    {
        var template = KubernetesJson.Deserialize<V1PodTemplateSpec>(KubernetesJson.Serialize(set.Spec.Template));
        var name = $"{set.Metadata.Name}-{Guid.NewGuid():N}"[..(set.Metadata.Name.Length + 6)];
        var pod = new V1Pod
        {
            ApiVersion = "v1",
            Kind = "Pod",
            Metadata = new V1ObjectMeta
            {
                Name = name,
                NamespaceProperty = set.Metadata.NamespaceProperty,
                Labels = template.Metadata.Labels,
                // Distinct creation times, as a real cluster's are (seconds there; the ranking needs an order here).
                CreationTimestamp = DateTime.UtcNow.AddTicks(Interlocked.Increment(ref _version)),
                OwnerReferences = [new V1OwnerReference { ApiVersion = "apps/v1", Kind = "ReplicaSet", Name = set.Metadata.Name, Uid = set.Metadata.Uid, Controller = true }],
            },
            Spec = template.Spec,
            Status = new V1PodStatus { Phase = "Running", PodIP = "127.0.0.1", Conditions = [new V1PodCondition { Type = "Ready", Status = "True" }] },
        };
        pod.Spec.NodeName = "node-1";
        _pods[name] = pod;
        Emit("ADDED", pod);
    }

    /// <summary>Terminating for a moment (the preStop sleep, the grace period), then gone.</summary>
    private void Terminate(string name)
    {
        if (!_pods.TryGetValue(name, out var pod) || pod.Metadata.DeletionTimestamp is not null)
        {
            return;
        }
        pod.Metadata.DeletionTimestamp = DateTime.UtcNow;
        Emit("MODIFIED", pod);
        _ = Task.Delay(_terminating).ContinueWith(_ =>
        {
            lock (_gate)
            {
                if (_pods.Remove(name, out var gone))
                {
                    Emit("DELETED", gone);
                    EndLogs(name);
                }
            }
        }, TaskScheduler.Default);
    }

    private void Emit(string type, V1Pod pod)
    {
        pod.Metadata.ResourceVersion = (++_version).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var copy = Clone(pod);
        _history.Add((_version, type, copy));
        if (_stalled)
        {
            return;
        }
        foreach (var watcher in _watchers.Where(w => Matches(copy.Metadata.Labels, w.Selector)))
        {
            watcher.Events.Writer.TryWrite(Event(type, copy));
        }
    }

    private static string Event(string type, V1Pod pod) => new JsonObject { ["type"] = type, ["object"] = JsonNode.Parse(KubernetesJson.Serialize(pod)) }.ToJsonString();

    private static bool IsReady(V1Pod pod) => pod.Status?.Conditions?.Any(c => c.Type == "Ready" && c.Status == "True") == true;

    private static long Cost(V1Pod pod) => pod.Metadata.Annotations?.TryGetValue("controller.kubernetes.io/pod-deletion-cost", out var cost) == true ? long.Parse(cost) : 0;

    /// <summary>Equality selectors only (a=b,c=d): what the driver sends.</summary>
    private static bool Matches(IDictionary<string, string>? labels, string selector) =>
        selector.Split(',', StringSplitOptions.RemoveEmptyEntries).All(term => term.Split('=', 2) is [var key, var value] && labels?.TryGetValue(key, out var actual) == true && actual == value);

    private static T Clone<T>(T item) => KubernetesJson.Deserialize<T>(KubernetesJson.Serialize(item));

    private static string Status(int code, string message) =>
        new JsonObject { ["kind"] = "Status", ["apiVersion"] = "v1", ["status"] = code < 300 ? "Success" : "Failure", ["message"] = message, ["code"] = code }.ToJsonString();

    private static Task AnswerAsync(HttpContext context, (int Status, string Body) answer) => AnswerAsync(context, answer.Status, answer.Body);

    private static async Task AnswerAsync(HttpContext context, int status, string body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        await context.Response.WriteAsync(body);
    }

    /// <summary>A kubeconfig whose context <paramref name="context"/> is this server, in <paramref name="ns"/>.</summary>
    public string Kubeconfig(string context, string ns) => $"""
        apiVersion: v1
        kind: Config
        current-context: {context}
        clusters:
        - name: fake
          cluster: {"{"} server: "{Url}" {"}"}
        users:
        - name: tester
          user: {"{"} token: "t0ken" {"}"}
        contexts:
        - name: {context}
          context: {"{"} cluster: fake, user: tester, namespace: {ns} {"}"}
        """;

    public async ValueTask DisposeAsync() => await DownAsync();

    /// <summary>What GET /version answers (the federation's reachability probe asks it), as a v1.31 API server does.</summary>
    private const string VersionJson = """{"major":"1","minor":"31","gitVersion":"v1.31.0-flotilla-fake","platform":"linux/amd64"}""";

    private sealed record Watcher(string Selector, Channel<string> Events);

    /// <summary>Sets (or, with null, removes) an annotation of a pod from outside, as another client would (a control plane that went away mid-stop).</summary>
    public void AnnotatePod(string name, string key, string? value)
    {
        lock (_gate)
        {
            var pod = _pods[name];
            pod.Metadata.Annotations ??= new Dictionary<string, string>();
            if (value is null)
            {
                pod.Metadata.Annotations.Remove(key);
            }
            else
            {
                pod.Metadata.Annotations[key] = value;
            }
            Emit("MODIFIED", pod);
        }
    }

    private volatile bool _refuseWatches;

    /// <summary>The role may list but not watch pods: each WATCH answers 403 Forbidden (as RBAC does), open watches end.</summary>
    public void RefuseWatches(bool refused)
    {
        _refuseWatches = refused;
        if (refused)
        {
            EndWatches();
        }
    }
}
