using YamlDotNet.RepresentationModel;

namespace Flotilla.Model;

/// <summary>Reads <c>clusters:</c> (a list of named targets with their overlays) and <c>release:</c>.</summary>
internal static partial class ClusterReader
{
    /// <summary>The kinds of target a cluster may be: the runtimes Flotilla drives itself.</summary>
    public static readonly string[] Kinds = [RuntimeKind.Local, RuntimeKind.Docker, RuntimeKind.Swarm, RuntimeKind.Kubernetes];

    public static IReadOnlyList<ClusterSpec> Read(SpecReader reader, YamlNode node)
    {
        var clusters = new List<ClusterSpec>();
        if (node is not YamlSequenceNode sequence)
        {
            reader.Error(node, "clusters", $"must be a list of clusters ('- name: eu' entries, in release order), got {SpecReader.Describe(node)}");
            return clusters;
        }
        if (sequence.Children.Count == 0)
        {
            reader.Error(node, "clusters", "list at least one cluster, or leave 'clusters' out");
        }
        var index = 0;
        foreach (var item in sequence.Children)
        {
            if (ReadOne(reader, item, $"clusters[{index++}]") is { } cluster)
            {
                if (clusters.FirstOrDefault(c => c.Name == cluster.Name) is { } first)
                {
                    reader.Error(item, $"clusters.{cluster.Name}", $"cluster '{cluster.Name}' is listed twice (first at line {first.At.Line}); give each cluster its own name");
                    continue;
                }
                if (cluster.Kind != RuntimeKind.Local && clusters.FirstOrDefault(c => c.Kind == cluster.Kind && c.Identity == cluster.Identity) is { } same)
                {
                    reader.Error(item, $"clusters.{cluster.Name}", $"cluster '{cluster.Name}' is the same target as '{same.Name}' ({cluster.Identity}); list each target once");
                    continue;
                }
                clusters.Add(cluster);
            }
        }
        return clusters;
    }

    private static ClusterSpec? ReadOne(SpecReader reader, YamlNode node, string path)
    {
        string? name = null, kind = null, endpoint = null;
        YamlNode? kindNode = null;
        var contextKeys = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (key, value, _) in reader.Mapping(node, path, SpecKeys.Cluster))
        {
            switch (key)
            {
                case "name":
                    name = reader.String(value, $"{path}.name");
                    if (name is not null && !Names.IsServiceName(name))
                    {
                        reader.Error(value, $"{path}.name", $"'{name}' is not a valid cluster name: {Names.ServiceNameHelp}");
                        name = null;
                    }
                    break;
                case "kind":
                    kindNode = value;
                    kind = reader.String(value, $"{path}.kind");
                    break;
                case "endpoint":
                    endpoint = reader.String(value, $"{path}.endpoint");
                    if (endpoint is not null && !(endpoint.StartsWith("unix:///", StringComparison.Ordinal) || endpoint.StartsWith("tcp://", StringComparison.Ordinal)))
                    {
                        reader.Error(value, $"{path}.endpoint", $"'{endpoint}' is not an engine endpoint: unix:///PATH.sock or tcp://HOST:PORT");
                    }
                    break;
                case "context" or "namespace" or "kubeconfig":
                    contextKeys[key] = value;
                    break;
            }
        }
        if (node is not YamlMappingNode)
        {
            return null;
        }
        if (name is null)
        {
            reader.Error(node, $"{path}.name", "missing: name the cluster, e.g. 'name: eu'");
            return null;
        }
        path = $"clusters.{name}";
        if (kind is null)
        {
            reader.Error(kindNode ?? node, $"{path}.kind", $"missing: say what runs this cluster's instances: {string.Join(", ", Kinds)}");
            return null;
        }
        if (!Kinds.Contains(kind))
        {
            reader.Error(kindNode!, $"{path}.kind", $"unknown kind '{kind}'{SpecReader.Suggest(kind, Kinds)}; one of: {string.Join(", ", Kinds)}");
            return null;
        }
        if (kind is RuntimeKind.Local or RuntimeKind.Kubernetes && endpoint is not null)
        {
            reader.Error(node, $"{path}.endpoint", kind == RuntimeKind.Local
                ? "a local cluster runs processes on this machine and has no endpoint; leave 'endpoint' out"
                : "a Kubernetes cluster is reached through its kubeconfig context, not an engine endpoint: leave 'endpoint' out and name it with 'context: NAME'");
        }
        var context = kind == RuntimeKind.Kubernetes ? ReadContext(reader, node, path, contextKeys) : null;
        foreach (var (key, value) in contextKeys.Where(_ => kind != RuntimeKind.Kubernetes))
        {
            reader.Error(value, $"{path}.{key}", $"'{key}' says where a Kubernetes cluster is, but this cluster is {kind}; leave it out, or make it 'kind: kubernetes'");
        }
        // Its keys were checked above (null: not again).
        var overlay = EnvironmentReader.ReadOverlay(reader, name, path, node, null) with { Runtime = kind };
        return new ClusterSpec(name, kind, endpoint, overlay, reader.At(node), context);
    }

    /// <summary>A Kubernetes cluster's context (required: a federation does not follow whatever current-context is set), namespace and kubeconfig.</summary>
    private static ClusterContextSpec? ReadContext(SpecReader reader, YamlNode node, string path, Dictionary<string, YamlNode> keys)
    {
        string? Read(string key) => keys.TryGetValue(key, out var value) ? reader.String(value, $"{path}.{key}") : null;
        var context = Read("context");
        var ns = Read("namespace");
        var kubeconfig = Read("kubeconfig");
        if (ns is not null && !NamespacePattern().IsMatch(ns))
        {
            reader.Error(keys["namespace"], $"{path}.namespace", $"'{ns}' is not a Kubernetes namespace: lower-case letters, digits and '-', starting and ending with a letter or digit, at most 63 characters");
        }
        if (context is null)
        {
            if (!keys.ContainsKey("context"))
            {
                reader.Error(node, $"{path}.context", "missing: name the kubeconfig context that reaches this cluster, e.g. 'context: prod-eu' (kubectl config get-contexts lists them)");
            }
            return null;
        }
        if (kubeconfig is not null && !Path.IsPathRooted(kubeconfig))
        {
            // Relative to the spec, as every other path in it.
            kubeconfig = Path.GetFullPath(Path.Combine(Path.GetDirectoryName(reader.At(node).File) ?? ".", kubeconfig));
        }
        return new ClusterContextSpec(context, ns, kubeconfig, reader.At(keys["context"]));
    }

    [System.Text.RegularExpressions.GeneratedRegex("^[a-z0-9]([a-z0-9-]{0,61}[a-z0-9])?$")]
    private static partial System.Text.RegularExpressions.Regex NamespacePattern();

    public static ClusterReleaseSpec Release(SpecReader reader, YamlNode node)
    {
        var release = ClusterReleaseSpec.Parallel with { At = reader.At(node) };
        foreach (var (key, value, _) in reader.Mapping(node, "release", SpecKeys.Release))
        {
            switch (key)
            {
                case "clusters":
                    var mode = reader.String(value, "release.clusters");
                    if (mode is not null and not ("ordered" or "parallel"))
                    {
                        reader.Error(value, "release.clusters", $"must be 'ordered' (one cluster after the other, the first the canary of the rest) or 'parallel' (all at once), got '{mode}'");
                    }
                    release = release with { Ordered = mode == "ordered" };
                    break;
                case "deadline":
                    release = release with { Deadline = reader.Duration(value, "release.deadline") ?? release.Deadline };
                    break;
            }
        }
        return release;
    }

    /// <summary>Cluster overlays name declared services; <c>release:</c> is about clusters and needs some.</summary>
    public static void Check(SpecReader reader, IReadOnlyList<ServiceSpec> services, IReadOnlyList<ClusterSpec> clusters, ClusterReleaseSpec? release)
    {
        var names = services.Select(s => s.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var cluster in clusters)
        {
            foreach (var (service, overlay) in cluster.Overlay.Services.Where(o => !names.Contains(o.Key)))
            {
                reader.Error(overlay.At, $"clusters.{cluster.Name}.services", $"unknown service '{service}'{SpecReader.Suggest(service, names)}; services declared: {string.Join(", ", names.Order(StringComparer.Ordinal))}");
            }
        }
        if (release?.At is { } at && clusters.Count == 0)
        {
            reader.Error(at, "release", "says how a release reaches clusters, but the spec declares none: add 'clusters:' or remove 'release:'");
        }
    }
}
