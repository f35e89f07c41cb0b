using System.Text.Json.Serialization;
using Flotilla.Model;
using Flotilla.Runtime.Kubernetes;

namespace Flotilla.Federation;

/// <summary>
/// A cluster as the federation drives it: its name, its kind (a runtime) and its engine (null: local processes, or the
/// default engine), or for <c>kind: kubernetes</c> its kubeconfig <see cref="Context"/>, <see cref="Namespace"/> and
/// <see cref="Kubeconfig"/> file (null: the context's namespace; KUBECONFIG, else ~/.kube/config).
/// </summary>
public sealed record ClusterTarget(string Name, string Kind, string? Endpoint, string? Context = null, string? Namespace = null, string? Kubeconfig = null)
{
    /// <summary>Where the cluster is, for people: an engine's endpoint, a context and namespace, or this machine.</summary>
    [JsonIgnore]
    public string Where => Kind == RuntimeKind.Kubernetes
        ? $"context {Context}{(Namespace is null ? "" : $", namespace {Namespace}")}{(Kubeconfig is null ? "" : $" of {Kubeconfig}")}"
        : Endpoint ?? "this machine";

    /// <summary>The Kubernetes driver's target of a <c>kind: kubernetes</c> cluster, over <paramref name="template"/> (its other settings kept).</summary>
    public KubernetesTarget KubernetesOver(KubernetesTarget template) => template with { Context = Context, Namespace = Namespace, Kubeconfig = Kubeconfig };
}
