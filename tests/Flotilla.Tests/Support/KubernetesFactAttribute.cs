namespace Flotilla.Tests.Support;

/// <summary>
/// A test that needs a real Kubernetes cluster: the kubeconfig context named by
/// FLOTILLA_TEST_KUBECONTEXT (KUBECONFIG and ~/.kube/config read as kubectl does). Skipped, saying
/// so, where none is named: no API server can run on the machines these tests were written on.
/// </summary>
public sealed class KubernetesFactAttribute : FactAttribute
{
    public const string Variable = "FLOTILLA_TEST_KUBECONTEXT";

    public static string? Context => Environment.GetEnvironmentVariable(Variable) is { Length: > 0 } context ? context : null;

    public KubernetesFactAttribute()
    {
        if (Context is null)
        {
            Skip = $"needs a real Kubernetes cluster: set {Variable} to a kubeconfig context of a disposable cluster (it creates and deletes a namespace there)";
        }
    }
}
