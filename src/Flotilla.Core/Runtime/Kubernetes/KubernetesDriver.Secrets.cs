using k8s.Autorest;
using k8s.Models;

namespace Flotilla.Runtime.Kubernetes;

/// <summary>
/// The driver's secrets: the revision's Secret applied before its ReplicaSet (see <see cref="PodSecrets"/>),
/// and the Secrets that were left without one deleted (<see cref="LeftoverSecrets"/>).
/// </summary>
public sealed partial class KubernetesDriver
{
    /// <summary>Revisions whose Secret is applied and whose ReplicaSet is not made yet (by name).</summary>
    private readonly Dictionary<string, InstanceLaunch> _secretsInFlight = new(StringComparer.Ordinal);
    private DateTimeOffset _nextSweep = DateTimeOffset.MinValue;
    private bool _sweepRefusedSaid;

    /// <summary>The ReplicaSets some instance wants now (not leaving, not gone), by name. Under <see cref="_gate"/>.</summary>
    private HashSet<string> WantedReplicaSets() =>
        _bindings.Where(b => !b.Leaving && !b.Gone).Select(b => ReplicaSets.Name(Owner, b.Service, b.Revision)).ToHashSet(StringComparer.Ordinal);

    /// <summary>
    /// A revision in flight that no instance wants any more (stopped while its ReplicaSet was refused)
    /// and that has no ReplicaSet: its Secret is deleted now, not left for the sweep.
    /// </summary>
    private async Task DeleteAbandonedSecretsAsync(ReplicaSetApi api, IReadOnlyList<ReplicaSetApi.Listed> listed, CancellationToken cancellationToken)
    {
        List<InstanceLaunch> abandoned;
        lock (_gate)
        {
            foreach (var made in _secretsInFlight.Keys.Where(n => listed.Any(r => r.Name == n)).ToList())
            {
                // Made after all (an apply that answered too late): the ReplicaSet's deletion takes its Secret.
                _secretsInFlight.Remove(made);
            }
            var wanted = WantedReplicaSets();
            abandoned = _secretsInFlight.Where(f => !wanted.Contains(f.Key)).Select(f => f.Value).ToList();
        }
        foreach (var launch in abandoned)
        {
            var name = ReplicaSets.Name(Owner, launch.Service, launch.Revision);
            await api.DeleteSecretAsync(name, cancellationToken);
            lock (_gate)
            {
                _secretsInFlight.Remove(name);
            }
            _replicaSetRefused.Remove(name);
            _record(launch.Service, $"deleted Secret {Namespace}/{name}: revision {launch.Revision} was given up before its ReplicaSet was made", false);
        }
    }

    /// <summary>
    /// At the first pass and then once per relist period: this owner's Secrets left without a ReplicaSet
    /// (by a control plane that died between the two, or a revision given up then) are deleted once older
    /// than <see cref="LeftoverSecrets.Grace"/>, each only if it is still the Secret listed (its uid). A role
    /// that may not list secrets is said once (a warning when this driver passes secrets to pods) and nothing is deleted.
    /// </summary>
    private async Task SweepSecretsAsync(ReplicaSetApi api, IReadOnlyList<ReplicaSetApi.Listed> listed, CancellationToken cancellationToken)
    {
        var now = _time.GetUtcNow();
        if (now < _nextSweep)
        {
            return;
        }
        IReadOnlyList<LeftoverSecrets.Listed> secrets;
        try
        {
            secrets = await api.ListSecretsAsync(cancellationToken);
        }
        catch (HttpOperationException e) when ((int)e.Response.StatusCode is >= 400 and < 500)
        {
            _nextSweep = now + _relistEvery;
            bool passes;
            lock (_gate)
            {
                passes = _launches.Values.Any(l => l.Secrets is { Count: > 0 });
            }
            if (!_sweepRefusedSaid)
            {
                _sweepRefusedSaid = true;
                _record("kubernetes", $"cannot list Secrets in namespace {Namespace} ({Why(e)}): a Secret left by a revision whose ReplicaSet was never made is not deleted; let the user list secrets there, or delete them by hand (kubectl get secrets -n {Namespace} -l {ReplicaSets.Selector(Owner)})", passes);
            }
            return;
        }
        _nextSweep = now + _relistEvery;
        HashSet<string> inFlight;
        lock (_gate)
        {
            inFlight = WantedReplicaSets();
            inFlight.UnionWith(_secretsInFlight.Keys);
        }
        var replicaSets = listed.Select(r => r.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var left in LeftoverSecrets.Plan(secrets, replicaSets, inFlight, now))
        {
            var said = await api.DeleteListedSecretAsync(left.Name, left.Uid!, cancellationToken) switch
            {
                ReplicaSetApi.LeftSecretDeletion.Deleted => $"deleted Secret {Namespace}/{left.Name}: left without its ReplicaSet (a control plane that stopped between the two, or a revision given up) for over {LeftoverSecrets.Grace.TotalSeconds:0} s",
                ReplicaSetApi.LeftSecretDeletion.AlreadyGone => $"Secret {Namespace}/{left.Name}, found left without its ReplicaSet, was already deleted by someone else",
                _ => $"kept Secret {Namespace}/{left.Name}: it was deleted and made again since it was found left (another uid); the next sweep looks at it again",
            };
            _record("kubernetes", said, false);
        }
    }
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
