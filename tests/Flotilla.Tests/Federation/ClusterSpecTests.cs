using Flotilla.Model;

namespace Flotilla.Tests.Federation;

/// <summary><c>clusters:</c> and <c>release:</c> in the spec: read, overlaid per cluster, and every mistake refused with file:line:column.</summary>
public sealed class ClusterSpecTests
{
    private const string File = "/tmp/flotilla.yaml";

    private const string Spec = """
        name: fed
        zones: [a]
        services:
          web:
            command: [python3, -m, http.server, "${PORT}"]
            instances: 2
            http: { port: 7300 }
        environments:
          prod: { instances: 3, env: { STAGE: prod } }
        release: { clusters: ordered, deadline: 2m }
        clusters:
          - name: here
            kind: local
          - name: eu
            kind: swarm
            endpoint: unix:///run/eu.sock
            portOffset: 100
            zones: [b, c]
            env: { REGION: eu }
            services: { web: { instances: 5 } }
        """;

    private static SpecError OnlyError(string yaml)
    {
        var refused = Assert.Throws<SpecException>(() => ClusterOverlay.All(SpecLoader.Parse(yaml, File)));
        return Assert.Single(refused.Errors);
    }

    [Fact]
    public void Clusters_AreRead_InReleaseOrder_WithTheirRelease()
    {
        var spec = SpecLoader.Parse(Spec, File);
        Assert.Equal(["here", "eu"], spec.Clusters.Select(c => c.Name));
        Assert.Equal("swarm", spec.Clusters[1].Kind);
        Assert.Equal("unix:///run/eu.sock", spec.Clusters[1].Endpoint);
        Assert.True(spec.ClusterRelease.Ordered);
        Assert.Equal(TimeSpan.FromMinutes(2), spec.ClusterRelease.Deadline);
    }

    [Fact]
    public void EachCluster_OverlaysTheEnvironment_OnItsOwnRuntime()
    {
        var clusters = ClusterOverlay.All(SpecLoader.Parse(Spec, File, "prod")).ToDictionary(c => c.Cluster.Name, c => c.Spec);
        var here = clusters["here"];
        Assert.Equal("local", here.RuntimeName);
        Assert.Equal("prod", here.Environment);
        Assert.Equal(3, here.Find("web")!.Instances);
        Assert.Equal(7300, here.Find("web")!.Http.Port);
        Assert.Equal(["a"], here.ZoneNames);
        var eu = clusters["eu"];
        Assert.Equal("swarm", eu.RuntimeName);
        Assert.Equal("prod", eu.Environment);
        Assert.Equal(5, eu.Find("web")!.Instances);
        Assert.Equal(7400, eu.Find("web")!.Http.Port);
        Assert.Equal(["b", "c"], eu.ZoneNames);
        Assert.Equal("eu", eu.Find("web")!.Env["REGION"]);
        Assert.Equal("prod", eu.Find("web")!.Env["STAGE"]);
        Assert.Empty(eu.Clusters);
    }

    [Theory]
    [InlineData("  - name: eu\n    kind: kubernetes\n", 10, 5, "missing: name the kubeconfig context that reaches this cluster")]
    [InlineData("  - name: eu\n    kind: kubernetes\n    context: prod\n    endpoint: tcp://h:1\n", 10, 5, "leave 'endpoint' out and name it with 'context: NAME'")]
    [InlineData("  - name: eu\n    kind: docker\n    context: prod\n", 12, 14, "'context' says where a Kubernetes cluster is, but this cluster is docker")]
    [InlineData("  - name: eu\n    kind: kubernetes\n    context: prod\n    namespace: Shop\n", 13, 16, "'Shop' is not a Kubernetes namespace")]
    [InlineData("  - name: eu\n    kind: kubernetes\n    context: prod\n", 4, 5, "service 'web' has no image, but this spec runs on Kubernetes")]
    [InlineData("  - name: eu\n    kind: swarn\n", 11, 11, "unknown kind 'swarn'")]
    [InlineData("  - name: eu\n", 10, 5, "missing: say what runs this cluster's instances")]
    [InlineData("  - name: eu\n    kind: swarm\n    endpoint: /run/eu.sock\n", 12, 15, "is not an engine endpoint")]
    [InlineData("  - name: eu\n    kind: local\n    replicas: 2\n", 12, 5, "unknown key 'replicas'")]
    [InlineData("  - name: eu\n    kind: local\n    services: { api: { instances: 1 } }\n", 12, 22, "unknown service 'api'")]
    [InlineData("  - name: here\n    kind: docker\n", 10, 5, "cluster 'here' is listed twice")]
    [InlineData("  - name: eu\n    kind: local\n", 10, 5, "port 7300 (the endpoint of 'web') is already the endpoint of 'web' of cluster 'here'")]
    public void AMistakeInACluster_IsRefused_AtItsPosition(string second, int line, int column, string message)
    {
        var yaml = """
            name: fed
            services:
              web:
                command: [python3, -m, http.server, "${PORT}"]
                http: { port: 7300 }
            clusters:
              - name: here
                kind: local

            """;
        // The first cluster's entry ends on line 8; the second starts on line 10, after "  # second".
        var error = OnlyError(yaml + "  # second\n" + second);
        Assert.Contains(message, error.Message, StringComparison.Ordinal);
        Assert.Equal((File, line, column), (error.At.File, error.At.Line, error.At.Column));
    }

    [Fact]
    public void AKubernetesCluster_IsItsContextAndNamespace_AndAServiceItRunsNothingOf_NeedsNoImageThere()
    {
        const string yaml = """
            name: fed
            services:
              web: { command: [python3, -m, http.server, "${PORT}"] }
              api: { image: 'registry.example/api:1' }
            clusters:
              - { name: here, kind: local, services: { api: { instances: 0 } } }
              - name: eu
                kind: kubernetes
                context: prod-eu
                namespace: shop
                kubeconfig: kube/config
                services: { web: { instances: 0 } }
            """;
        var clusters = ClusterOverlay.All(SpecLoader.Parse(yaml, File)).ToDictionary(c => c.Cluster.Name);
        var eu = clusters["eu"];
        Assert.Equal(("kubernetes", "kubernetes"), (eu.Cluster.Kind, eu.Spec.RuntimeName));
        Assert.Equal(new ClusterContextSpec("prod-eu", "shop", "/tmp/kube/config", new SpecLocation(File, 9, 14)), eu.Cluster.Kubernetes);
        Assert.Null(clusters["here"].Cluster.Kubernetes);

        // The same service with instances there is refused on each cluster, naming it.
        var both = Assert.Throws<SpecException>(() => ClusterOverlay.All(SpecLoader.Parse(yaml.Replace("services: { web: { instances: 0 } }", "services: {}", StringComparison.Ordinal), File)));
        Assert.Contains("in cluster 'eu' (kind kubernetes", Assert.Single(both.Errors).Message, StringComparison.Ordinal);
        Assert.Contains("give it 'services: { web: { instances: 0 } }' there", both.Errors[0].Message, StringComparison.Ordinal);

        // One context in two namespaces is two targets; twice the same is refused.
        var twice = yaml.Replace("  - { name: here, kind: local, services: { api: { instances: 0 } } }", "  - { name: us, kind: kubernetes, context: prod-eu, namespace: shop, kubeconfig: kube/config, services: { web: { instances: 0 } } }", StringComparison.Ordinal);
        Assert.Contains("cluster 'eu' is the same target as 'us'", OnlyError(twice).Message, StringComparison.Ordinal);
        Assert.Equal(2, ClusterOverlay.All(SpecLoader.Parse(twice.Replace("namespace: shop\n", "namespace: shop-us\n", StringComparison.Ordinal), File)).Count);
    }

    [Fact]
    public void ReleaseWithoutClusters_IsRefused()
    {
        var error = Assert.Single(Assert.Throws<SpecException>(() => SpecLoader.Parse("name: s\nservices:\n  web: { command: [x] }\nrelease: { clusters: ordered }\n", File)).Errors);
        Assert.Contains("declares none", error.Message, StringComparison.Ordinal);
        Assert.Equal(4, error.At.Line);
    }

    [Fact]
    public void AnImage_RunsOnContainerClusters_AndIsRefusedOnALocalOne_NamingIt()
    {
        var yaml = "name: s\nservices:\n  web: { image: 'nginx:1' }\nclusters:\n  - { name: box, kind: docker }\n  - { name: here, kind: local }\n";
        var error = OnlyError(yaml);
        Assert.Contains("in cluster 'here' (kind local", error.Message, StringComparison.Ordinal);
    }
}
