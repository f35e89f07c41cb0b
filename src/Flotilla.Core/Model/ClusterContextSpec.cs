namespace Flotilla.Model;

/// <summary>
/// Where a <c>kind: kubernetes</c> cluster is: a kubeconfig <see cref="Context"/> (at <see cref="ContextAt"/>, where a
/// context the kubeconfig does not have is refused), the <see cref="Namespace"/> its ReplicaSets go to (null: the
/// context's, else "default") and the <see cref="Kubeconfig"/> file (absolute; null: KUBECONFIG, else ~/.kube/config, as kubectl).
/// </summary>
public sealed record ClusterContextSpec(string Context, string? Namespace, string? Kubeconfig, SpecLocation ContextAt)
{
    /// <summary>What makes two clusters the same target: the same context of the same kubeconfig, in the same namespace.</summary>
    public string Identity => $"{Kubeconfig ?? "(default kubeconfig)"}#{Context}/{Namespace ?? "(the context's namespace)"}";
}
