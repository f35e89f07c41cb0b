using Flotilla.Kubernetes;
using Flotilla.Model;
using Flotilla.Tests.Support;
using k8s;

namespace Flotilla.Tests.Kubernetes;

/// <summary>The chart installs the same objects as the plain render, and a release can vary what values.yaml names.</summary>
public sealed class HelmChartTests
{
    internal static IReadOnlyList<string> InstantiatedDocuments(IReadOnlyDictionary<string, string> files, string? values = null) =>
        files.Where(f => f.Key.StartsWith("templates/", StringComparison.Ordinal) && f.Key.EndsWith(".yaml", StringComparison.Ordinal))
            .OrderBy(f => f.Key, StringComparer.Ordinal)
            .Select(f => HelmValues.Instantiate(f.Value, values ?? files["values.yaml"]))
            .ToList();

    /// <summary>A document read back into its typed object and written again: the same text for the same object, whatever the quoting.</summary>
    private static string Canonical(string yaml) => ManifestYaml.Document((IKubernetesObject)KubernetesYaml.LoadAllFromString(yaml).Single());

    [Fact]
    public void TheChart_WithItsDefaultValues_InstallsExactlyThePlainRender()
    {
        var spec = SpecLoader.Load(KubernetesSpecs.Shop, "prod");
        var manifest = KubernetesRenderer.Render(spec, KubernetesSpecs.Options);
        var files = HelmChart.Files(spec, manifest, "1.2.3");

        Assert.Contains("version: 1.2.3\n", files["Chart.yaml"], StringComparison.Ordinal);
        Assert.Contains("apiVersion: v2\n", files["Chart.yaml"], StringComparison.Ordinal);
        var rendered = manifest.Objects.Select(ManifestYaml.Document).ToList();
        Assert.Equal(rendered, InstantiatedDocuments(files).Select(Canonical));
    }

    [Fact]
    public void TheChartsValues_SetNamespaceImagesAndReplicas()
    {
        var spec = SpecLoader.Load(KubernetesSpecs.Shop);
        var files = HelmChart.Files(spec, KubernetesRenderer.Render(spec, KubernetesSpecs.Options), "0.1.0");
        var values = files["values.yaml"].Replace("namespace: shop", "namespace: shop-blue", StringComparison.Ordinal)
            .Replace("replicas: 3", "replicas: 9", StringComparison.Ordinal);

        var documents = InstantiatedDocuments(files, values).Select(d => KubernetesYaml.LoadAllFromString(d).Single()).ToList();

        var orders = documents.OfType<k8s.Models.V1Deployment>().Single(d => d.Metadata.Name.StartsWith("orders-", StringComparison.Ordinal));
        Assert.Equal((9, "shop-blue"), (orders.Spec.Replicas, orders.Metadata.NamespaceProperty));
        Assert.Equal("shop-blue", documents.OfType<k8s.Models.V1Namespace>().Single().Metadata.Name);
    }

    [Fact]
    public void RenderingTheChartAgain_RemovesTemplatesOfServicesNoLongerThere()
    {
        using var directory = new TempDirectory();
        var spec = SpecLoader.Load(KubernetesSpecs.Shop);
        HelmChart.Write(spec, KubernetesRenderer.Render(spec, KubernetesSpecs.Options), "0.1.0", directory.Path);
        var smaller = spec with { Services = spec.Services.Where(s => s.Name == "catalog").ToList() };
        HelmChart.Write(smaller, KubernetesRenderer.Render(smaller, KubernetesSpecs.Options), "0.2.0", directory.Path);

        Assert.DoesNotContain(Directory.GetFiles(Path.Combine(directory.Path, "templates")), f => f.Contains("orders", StringComparison.Ordinal));
        Assert.Contains("version: 0.2.0", File.ReadAllText(Path.Combine(directory.Path, "Chart.yaml")), StringComparison.Ordinal);
    }
}
