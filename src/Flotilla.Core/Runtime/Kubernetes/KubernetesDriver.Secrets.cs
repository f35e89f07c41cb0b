using k8s.Autorest;
using k8s.Models;

namespace Flotilla.Runtime.Kubernetes;

/// <summary>The driver's secrets: the revision's Secret applied before its ReplicaSet (see <see cref="PodSecrets"/>).</summary>
public sealed partial class KubernetesDriver
{
    /// <summary>
    /// The revision's Secret, before its ReplicaSet (whose pods refer to it). A value that cannot be read
    /// (gone from the store, an unreadable file) ends the revision's waiting instances, naming the secret,
    /// never a value; an API server that refuses (e.g. 403: the role may not patch secrets) is said and
    /// retried. Returns the Secret applied (to be owned by the ReplicaSet once it is), or null.
    /// </summary>
    private async Task<V1Secret?> ApplySecretAsync(ReplicaSetApi api, InstanceLaunch launch, CancellationToken cancellationToken)
    {
        var values = new Dictionary<string, string>(StringComparer.Ordinal);
        foreach (var secret in launch.Secrets!)
        {
            try
            {
                values[secret.Variable] = _secrets!(secret);
            }
            catch (Exception e) when (e is not OperationCanceledException)
            {
                lock (_gate)
                {
                    _launches.Remove(ReplicaSets.Name(Owner, launch.Service, launch.Revision));
                    _bindings = _bindings.Select(b => b.Service == launch.Service && b.Revision == launch.Revision && !b.Gone && b.Pod is null
                        ? b with { Leaving = true, Gone = true, StopReason = $"secret {secret.Variable} ({secret.Describe()}) cannot be read: {e.Message}" } : b).ToList();
                }
                return null;
            }
        }
        var name = ReplicaSets.Name(Owner, launch.Service, launch.Revision);
        var built = PodSecrets.Build(Owner, Namespace!, launch, values);
        try
        {
            await api.ApplySecretAsync(built, cancellationToken);
        }
        catch (HttpOperationException e)
        {
            // Said once per revision; tried again at each reconcile (every 5 s).
            if (_secretRefused.Add(name))
            {
                _record(launch.Service, $"cannot apply Secret {Namespace}/{name} for revision {launch.Revision} ({Why(e)}): its pods are not made until it is; let the user create, patch and delete secrets in namespace {Namespace}", true);
            }
            return null;
        }
        _secretRefused.Remove(name);
        _record(launch.Service, $"applied Secret {Namespace}/{name} for revision {launch.Revision} ({string.Join(", ", launch.Secrets!.Select(s => s.Variable))})", false);
        return built;
    }

    /// <summary>
    /// The Secret owned by its ReplicaSet (applied again with an owner reference, now that the ReplicaSet
    /// has a uid): the garbage collector deletes it with the ReplicaSet even if this control plane dies
    /// before it deletes it itself. Not being able to is no failure: the explicit delete still comes.
    /// </summary>
    private async Task OwnSecretAsync(ReplicaSetApi api, V1Secret secret, V1ReplicaSet owner, CancellationToken cancellationToken)
    {
        if (owner.Metadata?.Uid is not { Length: > 0 } uid)
        {
            return;
        }
        secret.Metadata.OwnerReferences = [new V1OwnerReference { ApiVersion = "apps/v1", Kind = "ReplicaSet", Name = owner.Metadata.Name, Uid = uid }];
        try
        {
            await api.ApplySecretAsync(secret, cancellationToken);
        }
        catch (HttpOperationException)
        {
        }
    }
}
