using k8s;
using k8s.Models;

namespace Flotilla.Tests.Kubernetes;

/// <summary>
/// The fake API server's Secrets: apply (a uid and creationTimestamp given on creation and kept), LIST by
/// label selector, DELETE, and the garbage collector of owned ones; and, from outside, Secrets made by
/// others and time passing over them. Also ReplicaSet applies refused on demand (an admission webhook, a quota).
/// </summary>
internal sealed partial class FakeApiServer
{
    private readonly Dictionary<string, V1Secret> _secrets = new(StringComparer.Ordinal);
    private volatile int _refuseReplicaSets;

    /// <summary>Each server-side apply of a ReplicaSet is answered with <paramref name="status"/> (e.g. 403 or 422), or served again with 0.</summary>
    public void RefuseReplicaSetApplies(int status) => _refuseReplicaSets = status;

    /// <summary>A Secret made by someone else (kubectl, another control plane), created <paramref name="age"/> ago.</summary>
    public void PutSecret(V1Secret secret, TimeSpan age)
    {
        lock (_gate)
        {
            var copy = Clone(secret);
            copy.Metadata.Uid = Guid.NewGuid().ToString();
            copy.Metadata.CreationTimestamp = DateTime.UtcNow - age;
            copy.Metadata.ResourceVersion = (++_version).ToString(System.Globalization.CultureInfo.InvariantCulture);
            _secrets[copy.Metadata.Name] = copy;
        }
    }

    /// <summary>Time passes over a Secret (its creationTimestamp goes back), and <paramref name="edit"/> changes it as another client would.</summary>
    public void EditSecret(string name, TimeSpan older, Action<V1Secret>? edit = null)
    {
        lock (_gate)
        {
            var secret = _secrets[name];
            secret.Metadata.CreationTimestamp -= older;
            edit?.Invoke(secret);
            secret.Metadata.ResourceVersion = (++_version).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    public V1Secret? Secret(string name)
    {
        lock (_gate)
        {
            return _secrets.TryGetValue(name, out var secret) ? Clone(secret) : null;
        }
    }

    private (int, string) ApplySecret(string name, string ns, string body)
    {
        lock (_gate)
        {
            var secret = KubernetesJson.Deserialize<V1Secret>(body);
            if (secret.Kind != "Secret" || secret.Metadata?.Name != name)
            {
                return (400, Status(400, "the body of a Secret's apply must be a Secret of the same name"));
            }
            secret.Metadata.NamespaceProperty = ns;
            // The same object applied again keeps what the server gave it when it was made.
            secret.Metadata.Uid = _secrets.TryGetValue(name, out var old) ? old.Metadata.Uid : Guid.NewGuid().ToString();
            secret.Metadata.CreationTimestamp = old?.Metadata.CreationTimestamp ?? DateTime.UtcNow;
            secret.Metadata.ResourceVersion = (++_version).ToString(System.Globalization.CultureInfo.InvariantCulture);
            _secrets[name] = secret;
            return (200, KubernetesJson.Serialize(secret));
        }
    }

    private (int, string) DeleteSecret(string name)
    {
        lock (_gate)
        {
            return _secrets.Remove(name) ? (200, Status(200, "deleted")) : (404, Status(404, $"secrets \"{name}\" not found"));
        }
    }

    /// <summary>The garbage collector: Secrets owned by a deleted ReplicaSet go with it.</summary>
    private void CollectSecrets(string replicaSet)
    {
        foreach (var owned in _secrets.Values.Where(s => s.Metadata.OwnerReferences?.Any(o => o.Kind == "ReplicaSet" && o.Name == replicaSet) == true).ToList())
        {
            _secrets.Remove(owned.Metadata.Name);
        }
    }
}
