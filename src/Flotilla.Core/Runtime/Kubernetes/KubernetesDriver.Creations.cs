using k8s;
using k8s.Autorest;
using k8s.Models;

namespace Flotilla.Runtime.Kubernetes;

/// <summary>The driver's new revisions: the Secret (if any), then the ReplicaSet, then the Secret owned by it.</summary>
public sealed partial class KubernetesDriver
{
    private readonly HashSet<string> _replicaSetRefused = new(StringComparer.Ordinal);

    /// <summary>
    /// Applies each new revision. Between its Secret and its ReplicaSet the revision is in flight
    /// (<see cref="_secretsInFlight"/>): its Secret is owned by nothing yet, so the sweep leaves it, and
    /// if the revision is given up before the ReplicaSet is made its Secret is deleted. A ReplicaSet the
    /// API server refuses (4xx: an admission webhook, a quota, a role that may not create it) is a warning,
    /// said once, and tried again at the next pass (every 5 s) while its instances wait; other revisions go on.
    /// </summary>
    private async Task CreateAsync(ReplicaSetApi api, IReadOnlyList<(InstanceLaunch Launch, int Replicas)> creations, CancellationToken cancellationToken)
    {
        foreach (var (launch, replicas) in creations)
        {
            var name = ReplicaSets.Name(Owner, launch.Service, launch.Revision);
            V1Secret? secret = null;
            if (launch.Secrets is { Count: > 0 })
            {
                if ((secret = await ApplySecretAsync(api, launch, cancellationToken)) is null)
                {
                    continue;
                }
                lock (_gate)
                {
                    _secretsInFlight[name] = launch;
                }
            }
            var replicaSet = ReplicaSets.Build(Owner, Namespace!, launch, replicas, _containerPort);
            V1ReplicaSet applied;
            try
            {
                applied = await api.ApplyAsync(replicaSet, cancellationToken);
            }
            catch (HttpOperationException e) when ((int)e.Response.StatusCode is >= 400 and < 500)
            {
                if (_replicaSetRefused.Add(name))
                {
                    _record(launch.Service, $"cannot apply ReplicaSet {Namespace}/{name} for revision {launch.Revision} ({Why(e)}{Said(e)}): its instances wait for pods and it is tried again every 5 s{(secret is null ? "" : "; its Secret is deleted if the revision is given up")}", true);
                }
                continue;
            }
            _replicaSetRefused.Remove(name);
            lock (_gate)
            {
                _secretsInFlight.Remove(name);
            }
            if (secret is not null)
            {
                await OwnSecretAsync(api, secret, applied, cancellationToken);
            }
            _record(launch.Service, $"applied ReplicaSet {Namespace}/{replicaSet.Metadata.Name} for revision {launch.Revision} with {replicas} replica{(replicas == 1 ? "" : "s")}", false);
        }
    }

    /// <summary>What the API server said, from its Status (": message"), or nothing.</summary>
    private static string Said(HttpOperationException e)
    {
        try
        {
            return e.Response.Content is { Length: > 0 } content && KubernetesJson.Deserialize<V1Status>(content)?.Message is { Length: > 0 } message ? $": {message}" : "";
        }
        catch (System.Text.Json.JsonException)
        {
            return "";
        }
    }
}
