using Flotilla.Kubernetes;
using Flotilla.Model;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Kubernetes;

/// <summary>
/// Every object Flotilla renders is valid against the official schemas of Kubernetes 1.36.0, offline:
/// npm's kubernetes-models 5.1.0 (with @kubernetes-models/validate), whose validators are generated
/// from Kubernetes' OpenAPI document (pinned in tests/sdk/k8s-validate/package-lock.json, installed on
/// first use). Node is a real process: the test runs with the other process-heavy ones.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class SchemaValidationTests
{
    private static readonly string ValidatorDirectory = Path.Combine(Repository.Root, "tests", "sdk", "k8s-validate");

    private static async Task<(int Code, string Output)> RunAsync(string file, IReadOnlyList<string> arguments, TimeSpan limit)
    {
        var (code, output, errors) = await NodeProcess.RunAsync(ValidatorDirectory, "the Kubernetes schema check", file, arguments, limit);
        return (code, output + errors);
    }

    private static async Task<(int Code, string Output)> ValidateAsync(string yaml)
    {
        if (!File.Exists(Path.Combine(ValidatorDirectory, "node_modules", "kubernetes-models", "package.json")))
        {
            var (code, output) = await RunAsync("npm", ["ci", "--no-audit", "--no-fund"], TimeSpan.FromMinutes(3));
            Assert.True(code == 0, $"npm ci in {ValidatorDirectory} failed: {output}");
        }
        using var directory = new TempDirectory();
        return await RunAsync("node", ["validate.mjs", directory.Write("objects.yaml", yaml)], TimeSpan.FromSeconds(60));
    }

    [Fact]
    public async Task EverythingRendered_PlainAndAsAChart_IsValidAgainstTheKubernetesSchemas()
    {
        using var directory = new TempDirectory();
        var yaml = new System.Text.StringBuilder();
        var specs = new[] { SpecLoader.Load(KubernetesSpecs.Shop), SpecLoader.Load(KubernetesSpecs.Shop, "prod"), KubernetesSpecs.LoadZoned(directory), KubernetesSpecs.LoadZoned(directory, "prod") };
        var objects = 0;
        foreach (var spec in specs)
        {
            var manifest = KubernetesRenderer.Render(spec, KubernetesSpecs.Options with { Registry = "registry.example.com/team" });
            yaml.Append(ManifestYaml.Stream(manifest));
            foreach (var document in HelmChartTests.InstantiatedDocuments(HelmChart.Files(spec, manifest, "0.1.0")))
            {
                yaml.Append("---\n").Append(document);
            }
            objects += 2 * manifest.Objects.Count;
        }

        var (code, output) = await ValidateAsync(yaml.ToString());

        Assert.True(code == 0, $"the schemas refuse what Flotilla renders:\n{output}");
        Assert.Contains($"{objects} objects, 0 problems", output, StringComparison.Ordinal);
    }

    [Fact]
    public async Task TheValidator_RefusesAnObjectTheApiServerWouldRefuse()
    {
        var yaml = ManifestYaml.Stream(KubernetesRenderer.Render(SpecLoader.Load(KubernetesSpecs.Shop), KubernetesSpecs.Options))
            .Replace("  replicas: 3\n", "  replicas: three\n", StringComparison.Ordinal)
            .Replace("        whenUnsatisfiable: ScheduleAnyway\n", "", StringComparison.Ordinal);

        var (code, output) = await ValidateAsync(yaml);

        Assert.Equal(1, code);
        Assert.Matches(@"Deployment/orders-[0-9a-f]{10}: .*spec/replicas must be integer", output);
        Assert.Contains("must have required property whenUnsatisfiable", output, StringComparison.Ordinal);
    }
}
