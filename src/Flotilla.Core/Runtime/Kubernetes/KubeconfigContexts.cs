using k8s;
using k8s.KubeConfigModels;

namespace Flotilla.Runtime.Kubernetes;

/// <summary>
/// Finds a cluster the way kubectl does: the file given, else every file of <c>KUBECONFIG</c>
/// (':'-separated, merged, the first file's entry winning), else <c>~/.kube/config</c>; the context
/// named, else the config's current-context. Every failure names what was looked for and where.
/// </summary>
public static class KubeconfigContexts
{
    public static IReadOnlyList<string> Files(string? explicitFile)
    {
        if (explicitFile is not null)
        {
            return [Path.GetFullPath(explicitFile)];
        }
        if (Environment.GetEnvironmentVariable("KUBECONFIG") is { Length: > 0 } list)
        {
            return list.Split(Path.PathSeparator, StringSplitOptions.RemoveEmptyEntries).Select(Path.GetFullPath).ToList();
        }
        return [Path.Combine(Environment.GetFolderPath(Environment.SpecialFolder.UserProfile), ".kube", "config")];
    }

    /// <summary>The client configuration of one context; throws <see cref="KubernetesApplyException"/> with the fix when there is none.</summary>
    public static KubernetesClientConfiguration Resolve(string? explicitFile, string? context)
    {
        var files = Files(explicitFile);
        var present = files.Where(File.Exists).Select(f => new FileInfo(f)).ToArray();
        if (present.Length == 0)
        {
            throw new KubernetesApplyException($"no kubeconfig: {string.Join(", ", files)} {(files.Count == 1 ? "does" : "do")} not exist; pass --kubeconfig FILE or set KUBECONFIG, as for kubectl");
        }
        K8SConfiguration config;
        try
        {
            config = Merge(present.Select(f => KubernetesClientConfiguration.LoadKubeConfig(f, useRelativePaths: true)).ToList());
        }
        catch (Exception e) when (e is k8s.Exceptions.KubeConfigException or YamlDotNet.Core.YamlException or IOException)
        {
            throw new KubernetesApplyException($"kubeconfig {string.Join(", ", present.Select(f => f.FullName))} cannot be read: {e.Message}");
        }
        var name = context ?? config.CurrentContext;
        var known = config.Contexts?.Select(c => c.Name).ToList() ?? [];
        if (name is null || !known.Contains(name))
        {
            throw new KubernetesApplyException(name is null
                ? $"no --context given and kubeconfig {string.Join(", ", present.Select(f => f.FullName))} has no current-context; name one of: {string.Join(", ", known)}"
                : $"context '{name}' is not in kubeconfig {string.Join(", ", present.Select(f => f.FullName))}; it has: {(known.Count == 0 ? "none" : string.Join(", ", known))}");
        }
        try
        {
            return KubernetesClientConfiguration.BuildConfigFromConfigObject(config, name);
        }
        catch (k8s.Exceptions.KubeConfigException e)
        {
            throw new KubernetesApplyException($"context '{name}' cannot be used: {e.Message}");
        }
    }

    /// <summary>kubectl's merge: each context, cluster and user from the first file that names it; the first current-context set.</summary>
    private static K8SConfiguration Merge(IReadOnlyList<K8SConfiguration> configs) => new()
    {
        CurrentContext = configs.Select(c => c.CurrentContext).FirstOrDefault(c => !string.IsNullOrEmpty(c)),
        FileName = configs[0].FileName,
        Contexts = configs.SelectMany(c => c.Contexts ?? []).DistinctBy(c => c.Name).ToList(),
        Clusters = configs.SelectMany(c => c.Clusters ?? []).DistinctBy(c => c.Name).ToList(),
        Users = configs.SelectMany(c => c.Users ?? []).DistinctBy(c => c.Name).ToList(),
    };
}
