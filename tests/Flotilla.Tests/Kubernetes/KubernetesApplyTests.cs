using System.Text.Json.Nodes;
using Flotilla.Kubernetes;
using Flotilla.Runtime.Kubernetes;
using Flotilla.Model;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Kubernetes;

/// <summary>
/// <c>apply --target kubernetes</c> against a recorded contract of the API (no API server can run
/// here): every object is a server-side apply PATCH (application/apply-patch+yaml, fieldManager
/// flotilla, force) to its API path, in order, with the rendered object as its body; refusals and
/// unreachable servers are errors that name the object or server and the fix.
/// </summary>
public sealed class KubernetesApplyTests
{
    private static async Task<IReadOnlyList<AppliedObject>> ApplyAsync(RecordingApiServer server, KubernetesManifest manifest, string context = "recorded", TimeSpan? deleteTimeout = null)
    {
        using var directory = new TempDirectory();
        var configuration = KubeconfigContexts.Resolve(directory.Write("config", server.Kubeconfig(context)), context);
        using var client = new k8s.Kubernetes(configuration);
        var applier = deleteTimeout is { } timeout ? new KubernetesApplier(client, timeout) : new KubernetesApplier(client);
        return await applier.ApplyAsync(manifest, CancellationToken.None).WaitAsync(TimeSpan.FromSeconds(30));
    }

    [Fact]
    public async Task EveryObject_IsAServerSideApply_ByFlotilla_ToItsPath_InOrder()
    {
        await using var server = await RecordingApiServer.StartAsync();
        var manifest = KubernetesRenderer.Render(SpecLoader.Load(KubernetesSpecs.Shop, "prod"), KubernetesSpecs.Options);

        var applied = await ApplyAsync(server, manifest);

        // A Service is read first (one headless from an earlier render is replaced): a GET that finds nothing.
        var services = manifest.Objects.OfType<k8s.Models.V1Service>().Select(s => $"/api/v1/namespaces/shop-prod/services/{s.Metadata.Name}").ToList();
        Assert.Equal(services, server.Requests.Where(r => r.Method == "GET").Select(r => r.Path));
        var requests = server.Requests.Where(r => r.Method != "GET").ToList();
        Assert.Equal(manifest.Objects.Count, requests.Count);
        Assert.All(requests, r =>
        {
            Assert.Equal("PATCH", r.Method);
            Assert.StartsWith("application/apply-patch+yaml", r.ContentType, StringComparison.Ordinal);
            Assert.Contains("fieldManager=flotilla", r.Query, StringComparison.Ordinal);
            Assert.Contains("force=true", r.Query, StringComparison.Ordinal);
        });
        var orders = KubernetesRenderTests.Deployment(manifest, "orders").Metadata.Name;
        Assert.Equal("/api/v1/namespaces/shop-prod", requests[0].Path);
        Assert.Equal("/api/v1/namespaces/shop-prod/resourcequotas/shop", requests[1].Path);
        Assert.Contains(requests, r => r.Path == $"/apis/apps/v1/namespaces/shop-prod/deployments/{orders}");
        Assert.Contains(requests, r => r.Path == "/api/v1/namespaces/shop-prod/services/flotilla-router");
        Assert.Contains(requests, r => r.Path == "/apis/policy/v1/namespaces/shop-prod/poddisruptionbudgets/orders");
        Assert.Contains(requests, r => r.Path.StartsWith("/api/v1/namespaces/shop-prod/configmaps/orders-", StringComparison.Ordinal));

        // The body is the rendered object itself: a full intent, as server-side apply expects.
        var body = JsonNode.Parse(requests.Single(r => r.Path.EndsWith(orders, StringComparison.Ordinal)).Body)!;
        Assert.Equal(("apps/v1", "Deployment", 4), ((string?)body["apiVersion"], (string?)body["kind"], (int)body["spec"]!["replicas"]!));
        Assert.Equal(manifest.Objects.Count, applied.Count);
        Assert.All(applied, a => Assert.NotNull(a.ResourceVersion));
    }

    [Fact]
    public async Task ApplyingTwice_SendsTheSameRequests()
    {
        await using var server = await RecordingApiServer.StartAsync();
        var manifest = KubernetesRenderer.Render(SpecLoader.Load(KubernetesSpecs.Shop), KubernetesSpecs.Options);

        await ApplyAsync(server, manifest);
        var first = server.Requests;
        await ApplyAsync(server, manifest);

        Assert.Equal(first, server.Requests.Skip(first.Count));
    }

    [Fact]
    public async Task ARefusal_NamesTheObject_AndStopsThere()
    {
        await using var server = await RecordingApiServer.StartAsync();
        var manifest = KubernetesRenderer.Render(SpecLoader.Load(KubernetesSpecs.Shop), KubernetesSpecs.Options);
        var catalog = KubernetesRenderTests.Deployment(manifest, "catalog").Metadata.Name;
        server.Fail($"/apis/apps/v1/namespaces/shop/deployments/{catalog}", 403, "deployments.apps is forbidden: User \"dev\" cannot patch resource \"deployments\"");

        var error = await Assert.ThrowsAsync<KubernetesApplyException>(() => ApplyAsync(server, manifest));

        Assert.Contains($"applying Deployment shop/{catalog}: the API server answered 403 Forbidden: deployments.apps is forbidden", error.Message, StringComparison.Ordinal);
        Assert.Contains("needs create/patch on", error.Message, StringComparison.Ordinal);
        Assert.EndsWith(catalog, server.Requests[^1].Path, StringComparison.Ordinal);
    }

    [Fact]
    public async Task AnImmutableFieldTheRenderChanges_StopsTheApply_NamingTheObjectAndTheField()
    {
        await using var server = await RecordingApiServer.StartAsync();
        var manifest = KubernetesRenderer.Render(SpecLoader.Load(KubernetesSpecs.Shop), KubernetesSpecs.Options);
        var catalog = KubernetesRenderTests.Deployment(manifest, "catalog").Metadata.Name;
        var path = $"/apis/apps/v1/namespaces/shop/deployments/{catalog}";
        // The same Deployment made with another selector (by hand, or by another tool): apps/v1 never changes a selector.
        using (var http = new HttpClient())
        {
            var other = new StringContent("""{"apiVersion":"apps/v1","kind":"Deployment","metadata":{"name":"NAME"},"spec":{"replicas":1,"selector":{"matchLabels":{"app":"catalog"}}}}""".Replace("NAME", catalog, StringComparison.Ordinal));
            (await http.PatchAsync(server.Url + path, other)).EnsureSuccessStatusCode();
        }

        var error = await Assert.ThrowsAsync<KubernetesApplyException>(() => ApplyAsync(server, manifest));

        Assert.Contains($"applying Deployment shop/{catalog}: the API server answered 422 UnprocessableEntity: Deployment.apps \"{catalog}\" is invalid: spec.selector:", error.Message, StringComparison.Ordinal);
        Assert.Contains($"; spec.selector cannot change once the Deployment exists, and the render changes it: delete it (kubectl -n shop delete deployment {catalog}) and apply again", error.Message, StringComparison.Ordinal);
        Assert.EndsWith(catalog, server.Requests[^1].Path, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Requests, r => r.Method == "DELETE");
    }

    [Fact]
    public async Task AHeadlessServiceThatIsNotFlotillas_IsNotDeleted_AndTheApplySaysWhatToDo()
    {
        await using var server = await RecordingApiServer.StartAsync();
        var manifest = KubernetesRenderer.Render(SpecLoader.Load(KubernetesSpecs.Shop), KubernetesSpecs.Options);
        using (var http = new HttpClient())
        {
            var handmade = new StringContent("""{"apiVersion":"v1","kind":"Service","metadata":{"name":"orders","labels":{"app":"orders"}},"spec":{"clusterIP":"None","ports":[{"port":8080}]}}""");
            (await http.PatchAsync($"{server.Url}/api/v1/namespaces/shop/services/orders", handmade)).EnsureSuccessStatusCode();
        }

        var error = await Assert.ThrowsAsync<KubernetesApplyException>(() => ApplyAsync(server, manifest));

        Assert.Contains("applying Service shop/orders: it is headless", error.Message, StringComparison.Ordinal);
        Assert.Contains("it is not Flotilla's", error.Message, StringComparison.Ordinal);
        Assert.Contains("delete it yourself (kubectl -n shop delete service orders) and apply again", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Requests, r => r.Method == "DELETE");
        Assert.Equal("None", (string?)server.Object("/api/v1/namespaces/shop/services/orders")!["spec"]!["clusterIP"]);
    }

    [Fact]
    public async Task AHeadlessServiceAFinalizerHolds_IsWaitedForBounded_ThenTheApplyStopsSayingSo()
    {
        await using var server = await RecordingApiServer.StartAsync();
        var manifest = KubernetesRenderer.Render(SpecLoader.Load(KubernetesSpecs.Shop), KubernetesSpecs.Options);
        const string path = "/api/v1/namespaces/shop/services/orders";
        using (var http = new HttpClient())
        {
            var headless = new StringContent("""{"apiVersion":"v1","kind":"Service","metadata":{"name":"orders","labels":{"flotilla.io/system":"shop","app.kubernetes.io/managed-by":"flotilla"}},"spec":{"clusterIP":"None","ports":[{"port":8080}]}}""");
            (await http.PatchAsync(server.Url + path, headless)).EnsureSuccessStatusCode();
        }
        server.Lingers(path, TimeSpan.FromSeconds(20));

        var error = await Assert.ThrowsAsync<KubernetesApplyException>(() => ApplyAsync(server, manifest, deleteTimeout: TimeSpan.FromSeconds(1)));

        Assert.Contains("applying Service shop/orders: it is headless", error.Message, StringComparison.Ordinal);
        Assert.Contains("so it was deleted to be created again, but it is still there after 1 s; apply again once 'kubectl -n shop get service orders' finds nothing", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Requests, r => r.Method == "PATCH" && r.Path == path && r.ContentType?.StartsWith("application/apply-patch", StringComparison.Ordinal) == true);
    }

    [Fact]
    public async Task AnUnreachableServer_IsNamed_WithTheFix()
    {
        var manifest = KubernetesRenderer.Render(SpecLoader.Load(KubernetesSpecs.Shop), KubernetesSpecs.Options);
        RecordingApiServer stopped;
        await using (stopped = await RecordingApiServer.StartAsync())
        {
        }

        var error = await Assert.ThrowsAsync<KubernetesApplyException>(() => ApplyAsync(stopped, manifest));

        Assert.Contains($"cannot be reached", error.Message, StringComparison.Ordinal);
        Assert.Contains(stopped.Url.Replace("http://", "", StringComparison.Ordinal), error.Message, StringComparison.Ordinal);
        Assert.Contains("apply again", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void AContextNotInTheKubeconfig_IsRefused_ListingThoseThatAre()
    {
        using var directory = new TempDirectory();
        var file = directory.Write("config", new RecordingApiServerStub().Kubeconfig);

        var error = Assert.Throws<KubernetesApplyException>(() => KubeconfigContexts.Resolve(file, "prod-eu"));

        Assert.Contains("context 'prod-eu' is not in kubeconfig", error.Message, StringComparison.Ordinal);
        Assert.Contains("it has: recorded, elsewhere", error.Message, StringComparison.Ordinal);
        Assert.Equal("http://127.0.0.1:1/", KubeconfigContexts.Resolve(file, null).Host.TrimEnd('/') + "/");
    }

    [Fact]
    public void NoKubeconfig_SaysWhereItLooked()
    {
        using var directory = new TempDirectory();

        var error = Assert.Throws<KubernetesApplyException>(() => KubeconfigContexts.Resolve(Path.Combine(directory.Path, "missing"), "any"));

        Assert.Contains($"no kubeconfig: {Path.Combine(directory.Path, "missing")} does not exist; pass --kubeconfig FILE or set KUBECONFIG", error.Message, StringComparison.Ordinal);
    }

    /// <summary>A kubeconfig's text without a running server.</summary>
    private sealed class RecordingApiServerStub
    {
        public string Kubeconfig => """
            apiVersion: v1
            kind: Config
            current-context: elsewhere
            clusters:
            - name: recorded
              cluster: { server: "http://127.0.0.1:2" }
            - name: other
              cluster: { server: "http://127.0.0.1:1" }
            users:
            - name: tester
              user: { token: "t0ken" }
            contexts:
            - name: recorded
              context: { cluster: recorded, user: tester }
            - name: elsewhere
              context: { cluster: other, user: tester }
            """;
    }
}
