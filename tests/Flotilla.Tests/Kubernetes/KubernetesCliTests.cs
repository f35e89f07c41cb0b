using Flotilla.Kubernetes;
using Flotilla.Model;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Kubernetes;

/// <summary>The commands as a user runs them: the flotilla CLI as its own process.</summary>
[Collection(ProcessHeavy.Name)]
public sealed class KubernetesCliTests
{
    private static async Task<(int Code, string Output)> RunAsync(IReadOnlyDictionary<string, string> env, params string[] args)
    {
        using var cli = CliProcess.Start(env, args);
        var code = await cli.WaitForExitAsync(TimeSpan.FromSeconds(90));
        return (code, cli.Output);
    }

    [Fact]
    public async Task Render_WritesAFilePerObject_AndAChart_AndNamesTheSecretsNeeded()
    {
        using var directory = new TempDirectory();
        var spec = KubernetesSpecs.LoadZoned(directory).File;
        var objects = Path.Combine(directory.Path, "out");
        var chart = Path.Combine(directory.Path, "chart");

        var (code, output) = await RunAsync(new Dictionary<string, string>(), "render", "--target", "kubernetes", spec, "--env", "prod", "-o", objects);
        Assert.True(code == 0, output);
        var files = Directory.GetFiles(objects).Select(Path.GetFileName).Order(StringComparer.Ordinal).ToList();
        Assert.Equal(("00-namespace-pay-prod.yaml", "01-resourcequota-pay.yaml"), (files[0], files[1]));
        Assert.Contains("needs Secret 'pay-db-password' in namespace pay-prod", output, StringComparison.Ordinal);

        (code, output) = await RunAsync(new Dictionary<string, string>(), "render", "--target", "kubernetes", spec, "--helm", "-o", chart, "--chart-version", "2.0.1");
        Assert.True(code == 0, output);
        Assert.Contains("version: 2.0.1", File.ReadAllText(Path.Combine(chart, "Chart.yaml")), StringComparison.Ordinal);
        Assert.Contains("pay-tls", File.ReadAllText(Path.Combine(chart, "templates", "NOTES.txt")), StringComparison.Ordinal);
    }

    [Fact]
    public async Task ApplyToKubernetes_ReachesTheClusterOfTheContext_WithNoFlotillaServer()
    {
        await using var server = await RecordingApiServer.StartAsync();
        using var directory = new TempDirectory();
        var kubeconfig = directory.Write("config", server.Kubeconfig("recorded"));
        // KUBECONFIG lists a missing file first: kubectl skips it, and so does Flotilla.
        var env = new Dictionary<string, string> { ["KUBECONFIG"] = $"{Path.Combine(directory.Path, "absent")}:{kubeconfig}", ["FLOTILLA_SERVER"] = "http://127.0.0.1:1" };

        var (code, output) = await RunAsync(env, "apply", "--target", "kubernetes", "--context", "recorded", "-f", KubernetesSpecs.Shop, "--env", "prod");

        Assert.True(code == 0, output);
        Assert.Contains("namespace/shop-prod applied", output, StringComparison.Ordinal);
        Assert.Contains($"objects applied to {server.Url}", output, StringComparison.Ordinal);
        Assert.Contains(server.Requests, r => r.Path == "/apis/apps/v1/namespaces/shop-prod/deployments/flotilla-router");

        (code, output) = await RunAsync(env, "apply", "--target", "kubernetes", "--context", "staging", "-f", KubernetesSpecs.Shop);
        Assert.Equal(1, code);
        Assert.Contains("error: context 'staging' is not in kubeconfig", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Apply_ReplacesAHeadlessServiceOfAnEarlierRender_WithAClusterIpOne_AndThenLeavesIt()
    {
        await using var server = await RecordingApiServer.StartAsync();
        using var directory = new TempDirectory();
        var env = new Dictionary<string, string> { ["KUBECONFIG"] = directory.Write("config", server.Kubeconfig("recorded")) };
        var spec = directory.Write("flotilla.yaml", KubernetesSpecs.Zoned);
        const string path = "/api/v1/namespaces/pay-prod/services/api";
        using (var http = new HttpClient())
        {
            // api's Service as an earlier Flotilla rendered it: headless.
            var headless = """{"apiVersion":"v1","kind":"Service","metadata":{"name":"api","namespace":"pay-prod","labels":{"flotilla.io/system":"pay","flotilla.io/service":"api","app.kubernetes.io/managed-by":"flotilla"}},"spec":{"clusterIP":"None","selector":{"flotilla.io/system":"pay","flotilla.io/service":"api"},"ports":[{"name":"http","port":8080,"targetPort":"http"}]}}""";
            (await http.PatchAsync(server.Url + path, new StringContent(headless))).EnsureSuccessStatusCode();
            // The contract, as the real server does it: applied again without clusterIP, it stays headless.
            (await http.PatchAsync(server.Url + path, new StringContent(headless.Replace("\"clusterIP\":\"None\",", "", StringComparison.Ordinal)))).EnsureSuccessStatusCode();
        }
        Assert.Equal("None", (string?)server.Object(path)!["spec"]!["clusterIP"]);
        var headlessUid = (string?)server.Object(path)!["metadata"]!["uid"];
        // A finalizer holds the deleted Service a while: applied to before it is gone, the new one would go with it.
        var linger = TimeSpan.FromSeconds(2);
        server.Lingers(path, linger);

        var (code, output) = await RunAsync(env, "apply", "--target", "kubernetes", "--context", "recorded", "-f", spec, "--env", "prod");

        Assert.True(code == 0, output);
        Assert.Contains("service/api replaced in pay-prod: it is headless (clusterIP None, as an earlier Flotilla rendered it) and Kubernetes does not give a Service a cluster IP in place, so it was deleted and created again", output, StringComparison.Ordinal);
        Assert.Contains("service/ledger applied in pay-prod", output, StringComparison.Ordinal);
        var delete = Assert.Single(server.Requests, r => r.Method == "DELETE");
        Assert.Equal(path, delete.Path);
        Assert.Contains(headlessUid!, delete.Body, StringComparison.Ordinal);
        await Task.Delay(linger + TimeSpan.FromSeconds(1));
        var replaced = server.Object(path);
        Assert.NotNull(replaced);
        Assert.NotEqual(headlessUid, (string?)replaced["metadata"]!["uid"]);
        var clusterIp = (string?)replaced["spec"]!["clusterIP"];
        Assert.Matches(@"^10\.96\.0\.\d+$", clusterIp);

        var before = server.Requests.Count;
        (code, output) = await RunAsync(env, "apply", "--target", "kubernetes", "--context", "recorded", "-f", spec, "--env", "prod");

        Assert.True(code == 0, output);
        Assert.Contains("service/api applied in pay-prod", output, StringComparison.Ordinal);
        Assert.DoesNotContain("replaced", output, StringComparison.Ordinal);
        Assert.DoesNotContain(server.Requests.Skip(before), r => r.Method == "DELETE");
        Assert.Equal(clusterIp, (string?)server.Object(path)!["spec"]!["clusterIP"]);
    }

    [Fact]
    public async Task Prune_DeletesTheEarlierRevision_OnceTheNewOneIsAvailable_AndNothingElse()
    {
        await using var applied = await AppliedOnceAsync();
        var (server, env, spec) = (applied.Server, applied.Env, applied.Spec);
        int code;
        string output;
        var first = server.Objects.Where(p => p.Contains("/deployments/api-", StringComparison.Ordinal) || p.Contains("/configmaps/api-", StringComparison.Ordinal)).ToList();
        Assert.Equal(2, first.Count);
        // Something a person made in the namespace by hand: never Flotilla's to prune.
        using (var http = new HttpClient())
        {
            var handmade = new StringContent("""{"apiVersion":"v1","kind":"ConfigMap","metadata":{"name":"notes","labels":{"flotilla.io/system":"pay"}}}""");
            (await http.PatchAsync($"{server.Url}/api/v1/namespaces/pay-prod/configmaps/notes", handmade)).EnsureSuccessStatusCode();
        }

        // A changed variable is a new revision of api: a new Deployment and ConfigMap beside the old ones.
        File.WriteAllText(spec, KubernetesSpecs.Zoned.Replace("LOG_LEVEL: info", "LOG_LEVEL: debug", StringComparison.Ordinal));
        (code, output) = await RunAsync(env, "apply", "--target", "kubernetes", "--context", "recorded", "-f", spec, "--env", "prod");
        Assert.True(code == 0, output);
        Assert.Contains("2 objects of earlier applies are still there", output, StringComparison.Ordinal);
        Assert.All(first, p => Assert.Contains(p, server.Objects));

        (code, output) = await RunAsync(env, "apply", "--target", "kubernetes", "--context", "recorded", "-f", spec, "--env", "prod", "--prune");

        Assert.True(code == 0, output);
        Assert.Contains("every deployment of pay-prod is available", output, StringComparison.Ordinal);
        Assert.Contains("2 objects pruned", output, StringComparison.Ordinal);
        Assert.All(first, p => Assert.DoesNotContain(p, server.Objects));
        Assert.Contains("/api/v1/namespaces/pay-prod/configmaps/notes", server.Objects);
        Assert.Equal(2, server.Objects.Count(p => p.Contains("/deployments/api-", StringComparison.Ordinal) || p.Contains("/configmaps/api-", StringComparison.Ordinal)));
        Assert.Contains(server.Requests, r => r.Method == "DELETE" && r.Body.Contains("Background", StringComparison.Ordinal));
    }

    [Fact]
    public async Task Prune_WhenTheNewRevisionNeverBecomesAvailable_FailsAndKeepsTheOldOne()
    {
        await using var applied = await AppliedOnceAsync();
        var (server, env, spec) = (applied.Server, applied.Env, applied.Spec);
        int code;
        string output;
        var before = server.Objects.ToHashSet();
        File.WriteAllText(spec, KubernetesSpecs.Zoned.Replace("LOG_LEVEL: info", "LOG_LEVEL: debug", StringComparison.Ordinal));
        var changed = KubernetesRenderer.Render(SpecLoader.Load(spec, "prod"), new KubernetesRenderOptions(null));
        var api = changed.Objects.OfType<k8s.Models.V1Deployment>().Single(d => d.Metadata.Name.StartsWith("api-", StringComparison.Ordinal)).Metadata.Name;
        server.Unavailable(api);

        (code, output) = await RunAsync(env, "apply", "--target", "kubernetes", "--context", "recorded", "-f", spec, "--env", "prod", "--prune", "--timeout", "00:00:03");

        Assert.Equal(1, code);
        Assert.Contains($"error: not available within 00:00:03: {api}: 0 of 6 available, 6 updated; nothing was pruned, so the earlier revisions still serve", output, StringComparison.Ordinal);
        Assert.All(before, p => Assert.Contains(p, server.Objects));
        Assert.DoesNotContain(server.Requests, r => r.Method == "DELETE");
    }

    [Fact]
    public async Task Prune_TakesARenderedSecretWithItsRevision_AndNeverOneTheNewPodsRead()
    {
        await using var server = await RecordingApiServer.StartAsync();
        using var directory = new TempDirectory();
        var env = new Dictionary<string, string> { ["KUBECONFIG"] = directory.Write("config", server.Kubeconfig("recorded")) };
        directory.Write("secrets/tls.key", "key one");
        var spec = directory.Write("flotilla.yaml", """
            name: pay
            runtime: docker
            services:
              api:
                image: registry.example.com/pay/api:1.4
                secrets: { TLS_KEY: { file: secrets/tls.key, as: file }, DB_PASSWORD: { store: pay-db-password } }
            """);
        string[] apply = ["apply", "--target", "kubernetes", "--context", "recorded", "-f", spec, "--include-secrets"];
        var (code, output) = await RunAsync(env, apply);
        Assert.True(code == 0, output);
        var first = Assert.Single(server.Objects, p => p.Contains("/secrets/tls-key-", StringComparison.Ordinal));
        // A Secret the pods read by reference, labelled as the system's (say, made by an earlier tool): never pruned.
        using (var http = new HttpClient())
        {
            var labelled = new StringContent("""{"apiVersion":"v1","kind":"Secret","metadata":{"name":"pay-db-password","labels":{"flotilla.io/system":"pay","app.kubernetes.io/managed-by":"flotilla"}}}""");
            (await http.PatchAsync($"{server.Url}/api/v1/namespaces/pay/secrets/pay-db-password", labelled)).EnsureSuccessStatusCode();
        }

        directory.Write("secrets/tls.key", "key two");
        (code, output) = await RunAsync(env, [.. apply, "--prune"]);

        Assert.True(code == 0, output);
        Assert.DoesNotContain(first, server.Objects);
        Assert.Single(server.Objects, p => p.Contains("/secrets/tls-key-", StringComparison.Ordinal));
        Assert.Contains("/api/v1/namespaces/pay/secrets/pay-db-password", server.Objects);
        Assert.Contains($"secret/{first.Split('/')[^1]} pruned", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task Prune_AfterTwoAppliesWithout_DeletesTheOldestRevisionBeforeTheWait_SoTheQuotaAdmitsTheNewOne()
    {
        await using var applied = await AppliedOnceAsync();
        var server = applied.Server;
        var first = ApiDeployment(applied.Spec);
        var second = await ReviseAsync(applied, "debug");
        // Both serve with all their pods: the quota's 18 pods hold 6 + 6 of api, 1 of ledger and 2 of the router.
        Assert.Equal((6, 6), (Available(server, first), Available(server, second)));

        var third = await ReviseAsync(applied, "warning", "--prune", "--timeout", "00:00:30");

        Assert.Contains($"deployment/{first} pruned before the wait: {second}, a newer revision of api, is available", applied.Output, StringComparison.Ordinal);
        Assert.Contains($"deployment/{second} pruned", applied.Output, StringComparison.Ordinal);
        Assert.Contains("every deployment of pay-prod is available", applied.Output, StringComparison.Ordinal);
        var requests = server.Requests.ToList();
        var waited = requests.Select((r, i) => (r, i)).Where(x => x.r.Method == "GET" && x.r.Path == DeploymentPath(third)).Select(x => x.i).ToList();
        Assert.NotEmpty(waited);
        Assert.True(requests.FindIndex(r => r.Method == "DELETE" && r.Path == DeploymentPath(first)) is var i && i >= 0 && i < waited[0], "the first revision goes before the wait");
        Assert.True(requests.FindIndex(r => r.Method == "DELETE" && r.Path == DeploymentPath(second)) > waited[^1], "the second goes once the third is available");
        Assert.Equal(6, Available(server, third));
        Assert.Null(server.Object(DeploymentPath(first)));
        Assert.Null(server.Object(DeploymentPath(second)));
    }

    [Fact]
    public async Task AThirdRevision_WithoutPrune_IsWarnedThatTheQuotaRefusesItsPods()
    {
        await using var applied = await AppliedOnceAsync();
        await ReviseAsync(applied, "debug");
        Assert.DoesNotContain("warning:", applied.Output, StringComparison.Ordinal);

        var third = await ReviseAsync(applied, "warning");

        Assert.Contains("warning: pay-prod's deployments ask for 21 pods and its quota allows 18, so it refuses some of the new revision's pods: 'apply --prune' deletes revisions older than the newest available one", applied.Output, StringComparison.Ordinal);
        // What the warning is about, as the recorded quota admits pods: the 3 left of 18.
        Assert.Equal(3, Available(applied.Server, third));
    }

    [Fact]
    public async Task Prune_WhenNoEarlierRevisionIsAvailable_KeepsThemAll_AndSaysTheQuotaMayRefuseTheNewPods()
    {
        await using var applied = await AppliedOnceAsync();
        var first = ApiDeployment(applied.Spec);
        applied.Server.Unavailable(first);
        File.WriteAllText(applied.Spec, KubernetesSpecs.Zoned.Replace("LOG_LEVEL: info", "LOG_LEVEL: debug", StringComparison.Ordinal));
        applied.Server.Unavailable(ApiDeployment(applied.Spec));
        var second = await ReviseAsync(applied, "debug");

        var (code, output) = await RunAsync(applied.Env, "apply", "--target", "kubernetes", "--context", "recorded", "-f", Revise(applied, "warning"), "--env", "prod", "--prune", "--timeout", "00:00:03");

        Assert.Equal(1, code);
        Assert.Contains($"warning: no earlier revision of api is fully available ({first}: 0 of 6 available, 6 updated; {second}: 0 of 6 available, 6 updated), so none was deleted before the wait", output, StringComparison.Ordinal);
        Assert.Contains("pay-prod's deployments ask for 21 pods and its quota allows 18, so it may refuse the new pods: if the wait times out, delete the earlier revisions that do not serve (kubectl -n pay-prod delete deployment NAME)", output, StringComparison.Ordinal);
        Assert.Contains("nothing was pruned", output, StringComparison.Ordinal);
        Assert.DoesNotContain(applied.Server.Requests, r => r.Method == "DELETE");
    }

    private static string DeploymentPath(string deployment) => $"/apis/apps/v1/namespaces/pay-prod/deployments/{deployment}";

    private static int Available(RecordingApiServer server, string deployment) => (int)server.Object(DeploymentPath(deployment))!["status"]!["availableReplicas"]!;

    private static string ApiDeployment(string spec) => KubernetesRenderer.Render(SpecLoader.Load(spec, "prod"), new KubernetesRenderOptions(null))
        .Objects.OfType<k8s.Models.V1Deployment>().Single(d => d.Metadata.Name.StartsWith("api-", StringComparison.Ordinal)).Metadata.Name;

    /// <summary>
    /// The zoned spec with api's LOG_LEVEL at <paramref name="level"/>: a new revision. Written a second after
    /// the last apply, so its Deployment's creationTimestamp (whole seconds) comes after the earlier ones'.
    /// </summary>
    private static string Revise(Applied applied, string level)
    {
        File.WriteAllText(applied.Spec, KubernetesSpecs.Zoned.Replace("LOG_LEVEL: info", $"LOG_LEVEL: {level}", StringComparison.Ordinal));
        return applied.Spec;
    }

    /// <summary>Applies a new revision (<see cref="Revise"/>) with <paramref name="flags"/>, which must succeed; returns its api Deployment.</summary>
    private static async Task<string> ReviseAsync(Applied applied, string level, params string[] flags)
    {
        await Task.Delay(TimeSpan.FromSeconds(1.1));
        var (code, output) = await RunAsync(applied.Env, ["apply", "--target", "kubernetes", "--context", "recorded", "-f", Revise(applied, level), "--env", "prod", .. flags]);
        applied.Output = output;
        Assert.True(code == 0, output);
        return ApiDeployment(applied.Spec);
    }

    /// <summary>The recorded contract of a cluster with the zoned spec applied to it once, as the prune tests start.</summary>
    private static async Task<Applied> AppliedOnceAsync()
    {
        var applied = new Applied(await RecordingApiServer.StartAsync(), new TempDirectory());
        var (code, output) = await RunAsync(applied.Env, "apply", "--target", "kubernetes", "--context", "recorded", "-f", applied.Spec, "--env", "prod");
        Assert.True(code == 0, output);
        return applied;
    }

    private sealed class Applied : IAsyncDisposable
    {
        public Applied(RecordingApiServer server, TempDirectory directory)
        {
            (Server, Directory) = (server, directory);
            Env = new Dictionary<string, string> { ["KUBECONFIG"] = directory.Write("config", server.Kubeconfig("recorded")) };
            Spec = directory.Write("flotilla.yaml", KubernetesSpecs.Zoned);
        }

        public RecordingApiServer Server { get; }
        public TempDirectory Directory { get; }
        public Dictionary<string, string> Env { get; }
        public string Spec { get; }

        /// <summary>What the last apply of <see cref="ReviseAsync"/> printed.</summary>
        public string Output { get; set; } = "";

        public async ValueTask DisposeAsync()
        {
            await Server.DisposeAsync();
            Directory.Dispose();
        }
    }
}
