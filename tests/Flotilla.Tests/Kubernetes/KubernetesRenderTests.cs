using Flotilla.Kubernetes;
using Flotilla.Model;
using Flotilla.Tests.Support;
using k8s.Models;

namespace Flotilla.Tests.Kubernetes;

/// <summary>
/// What <c>flotilla render --target kubernetes</c> makes of a spec: golden files a person can read
/// (rewrite them with FLOTILLA_UPDATE_GOLDEN=1 and review the diff), and the objects' parts that
/// carry meaning asserted one by one.
/// </summary>
public sealed class KubernetesRenderTests
{
    private static readonly string GoldenDirectory = Path.Combine(Repository.Root, "tests", "Flotilla.Tests", "Kubernetes", "Golden");

    public static TheoryData<string?> ShopEnvironments => new() { null, "prod", "dev" };

    [Theory]
    [MemberData(nameof(ShopEnvironments))]
    public void TheShop_RendersAsItsGoldenFile(string? environment)
    {
        var spec = SpecLoader.Load(KubernetesSpecs.Shop, environment);
        var yaml = ManifestYaml.Stream(KubernetesRenderer.Render(spec, KubernetesSpecs.Options));
        var golden = Path.Combine(GoldenDirectory, $"shop{(environment is null ? "" : "-" + environment)}.yaml");
        if (Environment.GetEnvironmentVariable("FLOTILLA_UPDATE_GOLDEN") == "1")
        {
            File.WriteAllText(golden, yaml);
        }
        Assert.True(File.Exists(golden), $"no golden file {golden}: run with FLOTILLA_UPDATE_GOLDEN=1 once and review it");
        Assert.Equal(File.ReadAllText(golden), yaml);
    }

    [Fact]
    public void ATenantsSystem_LivesInTheTenantsOwnNamespace()
    {
        var manifest = KubernetesRenderer.Render(SpecLoader.Load(KubernetesSpecs.Shop, "prod"), KubernetesSpecs.Options with { Tenant = "payments" });

        Assert.Equal("payments-shop-prod", manifest.Namespace);
        var ns = manifest.Objects.OfType<V1Namespace>().Single();
        Assert.Equal(("payments-shop-prod", "payments"), (ns.Metadata.Name, ns.Metadata.Labels["flotilla.io/tenant"]));
        Assert.All(manifest.Objects.Where(o => o is not V1Namespace).Cast<k8s.IKubernetesObject<V1ObjectMeta>>(), o => Assert.Equal("payments-shop-prod", o.Metadata.NamespaceProperty));
        // Callers reach the router by its short name, which resolves in their own namespace, whatever it is.
        var orders = manifest.Objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Labels.TryGetValue("flotilla.io/service", out var s) && s == "orders");
        Assert.Equal("http://flotilla-router:7101", orders.Data["CATALOG_URL"]);
    }

    [Fact]
    public void ATenantThatCannotNameANamespace_IsRefused()
    {
        var shop = SpecLoader.Load(KubernetesSpecs.Shop, "prod");
        var error = Assert.Throws<ArgumentException>(() => KubernetesRenderer.Render(shop, KubernetesSpecs.Options with { Tenant = "Payments" }));
        Assert.Contains("tenant 'Payments' is not a tenant's name (lower-case letters", error.Message, StringComparison.Ordinal);

        using var directory = new TempDirectory();
        var spec = SpecLoader.Load(directory.Write("flotilla.yaml", KubernetesSpecs.Zoned.Replace("name: pay", "name: payments-platform-of-the-eu", StringComparison.Ordinal)), "prod");
        error = Assert.Throws<ArgumentException>(() => KubernetesRenderer.Render(spec, KubernetesSpecs.Options with { Tenant = "the-payments-team-of-the-eu-region" }));
        Assert.Contains("namespace 'the-payments-team-of-the-eu-region-payments-platform-of-the-eu-prod' is 67 characters; Kubernetes allows 63", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void IncludeSecrets_RendersFileSecretsWithTheirValues_AndAChangedValueIsANewRevision()
    {
        using var directory = new TempDirectory();
        directory.Write("secrets/tls.key", "key one");
        var file = directory.Write("flotilla.yaml", """
            name: pay
            runtime: docker
            services:
              api:
                image: registry.example.com/pay/api:1.4
                secrets:
                  TLS_KEY: { file: secrets/tls.key, as: file }
                  DB_PASSWORD: { store: pay-db-password }
            """);
        var plain = KubernetesRenderer.Render(SpecLoader.Load(file), KubernetesSpecs.Options);
        var included = KubernetesRenderer.Render(SpecLoader.Load(file), KubernetesSpecs.Options with { IncludeSecrets = true });

        Assert.Empty(plain.Objects.OfType<V1Secret>());
        Assert.Equal(["pay-db-password", "tls-key"], plain.RequiredSecrets.Select(r => r.Name));
        var secret = Assert.Single(included.Objects.OfType<V1Secret>());
        Assert.Equal(("pay", "key one"), (secret.Metadata.NamespaceProperty, System.Text.Encoding.UTF8.GetString(secret.Data["value"])));
        // Named by its value's digest, and the pods read that one: a changed value is a new Secret beside the old.
        Assert.Matches("^tls-key-[0-9a-f]{10}$", secret.Metadata.Name);
        Assert.Equal(secret.Metadata.Name, Deployment(included, "api").Spec.Template.Spec.Volumes.Single(v => v.Secret is not null).Secret.SecretName);
        // A store: secret lives in a server's store, which a render does not reach: still a reference.
        Assert.Equal(["pay-db-password"], included.RequiredSecrets.Select(r => r.Name));
        Assert.DoesNotContain("key one", ManifestYaml.Stream(plain), StringComparison.Ordinal);

        directory.Write("secrets/tls.key", "key two");
        var changed = KubernetesRenderer.Render(SpecLoader.Load(file), KubernetesSpecs.Options with { IncludeSecrets = true });
        Assert.NotEqual(Deployment(included, "api").Metadata.Name, Deployment(changed, "api").Metadata.Name);
        Assert.NotEqual(secret.Metadata.Name, changed.Objects.OfType<V1Secret>().Single().Metadata.Name);
        Assert.Equal(Deployment(plain, "api").Metadata.Name, Deployment(KubernetesRenderer.Render(SpecLoader.Load(file), KubernetesSpecs.Options), "api").Metadata.Name);

        var written = ManifestYaml.WriteDirectory(changed, Path.Combine(directory.Path, "out"));
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(written.Single(w => w.Contains("-secret-tls-key-", StringComparison.Ordinal))));
    }

    [Fact]
    public void AnEnvironment_IsANamespace_WithTheOverlaysCounts()
    {
        var prod = KubernetesRenderer.Render(SpecLoader.Load(KubernetesSpecs.Shop, "prod"), KubernetesSpecs.Options);
        var plain = KubernetesRenderer.Render(SpecLoader.Load(KubernetesSpecs.Shop), KubernetesSpecs.Options);

        Assert.Equal(("shop-prod", "shop"), (prod.Namespace, plain.Namespace));
        Assert.All(prod.Objects.Skip(1), o => Assert.Equal("shop-prod", ((k8s.IKubernetesObject<V1ObjectMeta>)o).Metadata.NamespaceProperty));
        Assert.Equal(4, Deployment(prod, "orders").Spec.Replicas);
        Assert.Equal(3, Deployment(plain, "orders").Spec.Replicas);
        // Same code and config in both: the same revision, so promoting between environments changes no image.
        Assert.Equal(Deployment(plain, "catalog").Spec.Template.Spec.Containers[0].Image, Deployment(prod, "catalog").Spec.Template.Spec.Containers[0].Image);
    }

    [Fact]
    public void ARevision_IsItsOwnDeployment_AndAChangedValueIsANewOne()
    {
        using var directory = new TempDirectory();
        var before = KubernetesRenderer.Render(KubernetesSpecs.LoadZoned(directory), KubernetesSpecs.Options);
        var after = KubernetesRenderer.Render(SpecLoader.Load(directory.Write("flotilla.yaml", KubernetesSpecs.Zoned.Replace("LOG_LEVEL: info", "LOG_LEVEL: debug", StringComparison.Ordinal))), KubernetesSpecs.Options);

        var (old, @new) = (Deployment(before, "api"), Deployment(after, "api"));
        Assert.NotEqual(old.Metadata.Name, @new.Metadata.Name);
        Assert.Equal(old.Metadata.Labels["flotilla.io/revision"], old.Spec.Selector.MatchLabels["flotilla.io/revision"]);
        // The ledger did not change: its Deployment is the same object, so applying the new render leaves it alone.
        Assert.Equal(Deployment(before, "ledger").Metadata.Name, Deployment(after, "ledger").Metadata.Name);
        var config = after.Objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Name == $"{@new.Metadata.Name}-env");
        Assert.Equal(("debug", true), (config.Data["LOG_LEVEL"], config.Immutable));
    }

    [Fact]
    public void Zones_SecretsAndResources_BecomeSpreadReferencesAndLimits()
    {
        using var directory = new TempDirectory();
        var manifest = KubernetesRenderer.Render(KubernetesSpecs.LoadZoned(directory, "prod"), KubernetesSpecs.Options);
        var api = Deployment(manifest, "api");
        var pod = api.Spec.Template.Spec;
        var container = pod.Containers[0];

        Assert.Equal(6, api.Spec.Replicas);
        Assert.Equal("registry.example.com/pay/api:1.4", container.Image);
        var zone = Assert.Single(pod.TopologySpreadConstraints, c => c.TopologyKey == "topology.kubernetes.io/zone");
        Assert.Equal((1, "DoNotSchedule"), (zone.MaxSkew, zone.WhenUnsatisfiable));
        Assert.Equal(["eu-1a", "eu-1b", "eu-1c"], pod.Affinity.NodeAffinity.RequiredDuringSchedulingIgnoredDuringExecution.NodeSelectorTerms[0].MatchExpressions[0].Values);

        // Secrets by reference only: no value anywhere in what is rendered.
        var password = container.Env.Single(e => e.Name == "DB_PASSWORD");
        Assert.Equal(("pay-db-password", "value"), (password.ValueFrom.SecretKeyRef.Name, password.ValueFrom.SecretKeyRef.Key));
        Assert.Equal("pay-tls", pod.Volumes.Single().Secret.SecretName);
        Assert.Equal("/run/secrets/flotilla/TLS_KEY/value", container.Env.Single(e => e.Name == "TLS_KEY").Value);
        Assert.Equal(["pay-db-password", "pay-tls"], manifest.RequiredSecrets.Select(s => s.Name));
        Assert.DoesNotContain(manifest.Objects, o => o is V1Secret);

        Assert.Equal(("250m", "128Mi"), (container.Resources.Limits["cpu"].ToString(), container.Resources.Limits["memory"].ToString()));
        Assert.Equal(("/ready", "/healthz"), (container.ReadinessProbe.HttpGet.Path, container.LivenessProbe.HttpGet.Path));
        Assert.Equal(2, container.Lifecycle.PreStop.Sleep.Seconds);

        // The ledger has no http paths: probed by a TCP connect, as the local runtime does; its ${PORT} is the kubelet's $(PORT).
        var ledger = Deployment(manifest, "ledger").Spec.Template.Spec.Containers[0];
        Assert.Equal(("http", null), (ledger.ReadinessProbe.TcpSocket.Port.Value, ledger.ReadinessProbe.HttpGet));
        Assert.Equal(["python3", "-m", "http.server", "$(PORT)"], ledger.Command);

        // Callers reach a service at the router: the api is given the ledger's endpoint there.
        var config = manifest.Objects.OfType<V1ConfigMap>().Single(c => c.Metadata.Labels["flotilla.io/service"] == "api");
        Assert.Equal("http://flotilla-router:7000", config.Data["LEDGER_URL"]);
        var router = manifest.Objects.OfType<V1Service>().Single(s => s.Metadata.Name == "flotilla-router");
        Assert.Equal([("ledger", 7000), ("api", 9000)], router.Spec.Ports.Select(p => (p.Name, p.Port)));

        // Room for a whole surge of every service and of the router: pods 2 x (6 + 1) + 2 x 2; cpu 2 x (6 x 0.25 + 1) + 2 x 2 x 0.5.
        var quota = manifest.Objects.OfType<V1ResourceQuota>().Single().Spec.Hard;
        Assert.Equal(("18", "7", "4608Mi"), (quota["pods"].ToString(), quota["limits.cpu"].ToString(), quota["limits.memory"].ToString()));
        Assert.Contains(manifest.Objects, o => o is V1PodDisruptionBudget { Metadata.Name: "api" });
    }

    [Fact]
    public void AnArtifactsImage_IsTaggedByItsSourcesDigest_SoChangedCodeIsANewImageAndRevision()
    {
        using var directory = new TempDirectory();
        directory.Write("site/app.py", "print('v1')");
        var file = directory.Write("flotilla.yaml", "name: web\nservices:\n  site: { command: [python3, \"${ARTIFACT}/app.py\"], files: site }\n  plain: { command: [sleep, infinity] }\n");
        var before = KubernetesRenderer.Render(SpecLoader.Load(file), new KubernetesRenderOptions());
        directory.Write("site/app.py", "print('v2')");
        var after = KubernetesRenderer.Render(SpecLoader.Load(file), new KubernetesRenderOptions());

        var (old, @new) = (Deployment(before, "site").Spec.Template.Spec.Containers[0].Image, Deployment(after, "site").Spec.Template.Spec.Containers[0].Image);
        Assert.Matches("^flotilla-web-site:[0-9a-f]{12}$", old);
        Assert.NotEqual(old, @new);
        Assert.NotEqual(Deployment(before, "site").Metadata.Name, Deployment(after, "site").Metadata.Name);
        // A command with no artifact runs on Flotilla's base image, as on Docker, and did not change.
        Assert.Equal("flotilla-base:1", Deployment(after, "plain").Spec.Template.Spec.Containers[0].Image);
        Assert.Equal(Deployment(before, "plain").Metadata.Name, Deployment(after, "plain").Metadata.Name);
    }

    internal static V1Deployment Deployment(KubernetesManifest manifest, string service) =>
        manifest.Objects.OfType<V1Deployment>().Single(d => d.Spec.Template.Metadata.Labels["flotilla.io/service"] == service);
}
