using Flotilla.Model;
using Flotilla.Runtime.Docker;
using Flotilla.Runtime.Kubernetes;
using k8s;
using k8s.Autorest;

namespace Flotilla.Federation;

/// <summary>
/// Whether a cluster's engine answers: a Docker Engine or Swarm manager is asked its version, a
/// Kubernetes API server its version (GET /version) through its kubeconfig context; the cause is the
/// client's own explanation (no socket, refused, no answer in time, an unknown context, a status
/// code). Local processes are this machine and always answer.
/// </summary>
internal static class ClusterProbe
{
    public static async Task<string?> UnreachableAsync(ClusterTarget target, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (target.Kind == RuntimeKind.Local)
        {
            return null;
        }
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(timeout);
        if (target.Kind == RuntimeKind.Kubernetes)
        {
            return await KubernetesUnreachableAsync(target, timeout, bounded.Token, cancellationToken);
        }
        try
        {
            using var engine = await DockerEngine.ConnectAsync(target.Endpoint, bounded.Token);
            return null;
        }
        catch (DockerUnavailableException e)
        {
            return e.Message;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"the {(target.Kind == RuntimeKind.Swarm ? "Swarm manager" : "Docker Engine")} at {target.Endpoint ?? DockerEngine.DefaultEndpoint} did not answer within {timeout.TotalSeconds:0.#} s";
        }
    }

    /// <summary>The kubeconfig is read again on each probe: a context added or a certificate renewed is seen without a restart.</summary>
    private static async Task<string?> KubernetesUnreachableAsync(ClusterTarget target, TimeSpan timeout, CancellationToken bounded, CancellationToken cancellationToken)
    {
        KubernetesClientConfiguration configuration;
        try
        {
            configuration = KubeconfigContexts.Resolve(target.Kubeconfig, target.Context);
        }
        catch (KubernetesApplyException e)
        {
            return e.Message;
        }
        var server = $"the Kubernetes API server of context '{target.Context}' ({configuration.Host})";
        try
        {
            using var client = new k8s.Kubernetes(configuration);
            await client.Version.GetCodeAsync(bounded);
            return null;
        }
        catch (HttpOperationException e)
        {
            return $"{server} answered GET /version with {(int)e.Response.StatusCode} {e.Response.StatusCode}: check the context's user and the server";
        }
        catch (HttpRequestException e)
        {
            return $"{server} cannot be reached: {e.Message}";
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"{server} did not answer within {timeout.TotalSeconds:0.#} s";
        }
    }

    /// <summary>The engine a cluster of <paramref name="kind"/> uses when the spec names none (as a single control plane would).</summary>
    public static string? DefaultEndpoint(string kind, string? dockerEndpoint, string? swarmEndpoint) => kind switch
    {
        RuntimeKind.Docker => dockerEndpoint,
        RuntimeKind.Swarm => swarmEndpoint ?? dockerEndpoint,
        _ => null,
    };
}
