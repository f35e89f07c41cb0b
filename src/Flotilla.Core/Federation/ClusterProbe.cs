using Flotilla.Model;
using Flotilla.Runtime.Docker;

namespace Flotilla.Federation;

/// <summary>
/// Whether a cluster's engine answers: a Docker Engine or Swarm manager is asked its version (the
/// cause is the engine client's own explanation: no socket, refused, no answer in time); local
/// processes are this machine and always answer.
/// </summary>
internal static class ClusterProbe
{
    public static async Task<string?> UnreachableAsync(string kind, string? endpoint, TimeSpan timeout, CancellationToken cancellationToken)
    {
        if (kind == RuntimeKind.Local)
        {
            return null;
        }
        using var bounded = CancellationTokenSource.CreateLinkedTokenSource(cancellationToken);
        bounded.CancelAfter(timeout);
        try
        {
            using var engine = await DockerEngine.ConnectAsync(endpoint, bounded.Token);
            return null;
        }
        catch (DockerUnavailableException e)
        {
            return e.Message;
        }
        catch (OperationCanceledException) when (!cancellationToken.IsCancellationRequested)
        {
            return $"the {(kind == RuntimeKind.Swarm ? "Swarm manager" : "Docker Engine")} at {endpoint ?? DockerEngine.DefaultEndpoint} did not answer within {timeout.TotalSeconds:0.#} s";
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
