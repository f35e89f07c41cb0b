namespace Flotilla.Runtime.Kubernetes;

/// <summary>
/// Which cluster runs <c>runtime: kubernetes</c>, and where in it: a kubeconfig <see cref="Context"/> (null: the
/// current-context), the <see cref="Kubeconfig"/> file (null: KUBECONFIG, else ~/.kube/config, as kubectl), and the
/// <see cref="Namespace"/> (null: the context's, else "default"). Flotilla creates no namespace: it must exist.
/// </summary>
public sealed record KubernetesTarget(string? Context = null, string? Kubeconfig = null, string? Namespace = null)
{
    public static KubernetesTarget FromEnvironment() => new(
        Environment.GetEnvironmentVariable("FLOTILLA_KUBECONTEXT") is { Length: > 0 } context ? context : null,
        null,
        Environment.GetEnvironmentVariable("FLOTILLA_KUBERNETES_NAMESPACE") is { Length: > 0 } ns ? ns : null);

    public override string ToString() => $"context {Context ?? "(current-context)"}";

    /// <summary>
    /// The port instances listen on inside their pods (PORT), where Flotilla probes and routes to each pod's IP: 8080.
    /// Tests whose "pods" are the test's own listener on 127.0.0.1 (a fake API server) set it to that listener's port.
    /// </summary>
    public int ContainerPort { get; init; } = 8080;
}
