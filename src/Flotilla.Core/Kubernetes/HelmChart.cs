using System.Globalization;
using System.Text;
using System.Text.RegularExpressions;
using Flotilla.Model;
using k8s.Models;

namespace Flotilla.Kubernetes;

/// <summary>
/// A Helm chart (apiVersion v2) that installs the same objects as the plain render: each template is
/// the rendered YAML with the values a release varies made into values (namespace, each service's
/// image and replicas, the router's image). With the default values, <c>helm template</c> gives
/// exactly the plain render. The chart's version is the caller's; its appVersion is the digest of
/// the rendered objects, so two charts of different content never share a version by mistake.
/// </summary>
public static partial class HelmChart
{
    [GeneratedRegex(@"^(?<indent>\s*)namespace: .*$", RegexOptions.Multiline)]
    private static partial Regex NamespaceLine();

    [GeneratedRegex(@"^  replicas: \d+$", RegexOptions.Multiline)]
    private static partial Regex ReplicasLine();

    [GeneratedRegex(@"^(?<indent>\s*)image: .*$", RegexOptions.Multiline)]
    private static partial Regex ImageLine();

    public static IReadOnlyDictionary<string, string> Files(SystemSpec spec, KubernetesManifest manifest, string version)
    {
        var files = new SortedDictionary<string, string>(StringComparer.Ordinal);
        var stream = ManifestYaml.Stream(manifest);
        var digest = Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(Encoding.UTF8.GetBytes(stream)))[..12];
        files["Chart.yaml"] = $"""
            apiVersion: v2
            name: {spec.Name}
            description: "{spec.Name}{(spec.Environment is { } e ? $" ({e})" : "")}, rendered by Flotilla from flotilla.yaml"
            type: application
            version: {version}
            appVersion: "{digest}"

            """;
        var values = new StringBuilder();
        values.Append("# Rendered by 'flotilla render --target kubernetes --helm'. What a release may vary:\n");
        values.Append(CultureInfo.InvariantCulture, $"namespace: {manifest.Namespace}\n");
        values.Append(CultureInfo.InvariantCulture, $"routerImage: {Quote(RouterImage(manifest))}\n");
        values.Append("services:\n");
        for (var i = 0; i < manifest.Objects.Count; i++)
        {
            var item = manifest.Objects[i];
            var yaml = ManifestYaml.Document(item);
            yaml = NamespaceLine().Replace(yaml, m => $"{m.Groups["indent"].Value}namespace: {{{{ .Values.namespace }}}}");
            if (item is V1Namespace)
            {
                yaml = yaml.Replace($"  name: {manifest.Namespace}\n", "  name: {{ .Values.namespace }}\n", StringComparison.Ordinal);
            }
            if (item is V1Deployment deployment)
            {
                var service = deployment.Spec.Template.Metadata.Labels[KubernetesNames.ServiceLabel];
                if (service == KubernetesNames.RouterName)
                {
                    yaml = ImageLine().Replace(yaml, m => $"{m.Groups["indent"].Value}image: {{{{ .Values.routerImage | quote }}}}");
                }
                else
                {
                    var container = deployment.Spec.Template.Spec.Containers[0];
                    values.Append(CultureInfo.InvariantCulture, $"  {Quote(service)}:\n    image: {Quote(container.Image)}\n    replicas: {deployment.Spec.Replicas}\n");
                    yaml = ReplicasLine().Replace(yaml, $"  replicas: {{{{ index .Values.services {Quote(service)} \"replicas\" }}}}");
                    yaml = ImageLine().Replace(yaml, m => $"{m.Groups["indent"].Value}image: {{{{ index .Values.services {Quote(service)} \"image\" | quote }}}}");
                }
            }
            files[$"templates/{ManifestYaml.FileName(i, item)}"] = yaml;
        }
        files["values.yaml"] = values.ToString();
        if (manifest.RequiredSecrets.Count > 0)
        {
            files["templates/NOTES.txt"] = "This release reads these Secrets, which it does not create (their values never leave Flotilla's secret store):\n"
                + string.Concat(manifest.RequiredSecrets.Select(s => $"  {s.Name} (key: {string.Join(", ", s.Keys)})\n"));
        }
        return files;
    }

    public static void Write(SystemSpec spec, KubernetesManifest manifest, string version, string directory)
    {
        var templates = Path.Combine(directory, "templates");
        if (Directory.Exists(templates))
        {
            Directory.Delete(templates, recursive: true);
        }
        foreach (var (name, text) in Files(spec, manifest, version))
        {
            var path = Path.Combine(directory, name);
            Directory.CreateDirectory(Path.GetDirectoryName(path)!);
            ManifestYaml.WriteFile(path, text, name.Contains("-secret-", StringComparison.Ordinal));
        }
    }

    private static string RouterImage(KubernetesManifest manifest) =>
        manifest.Objects.OfType<V1Deployment>().First(d => d.Metadata.Name == KubernetesNames.RouterName).Spec.Template.Spec.Containers[0].Image;

    private static string Quote(string text) => "\"" + text.Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal) + "\"";
}
