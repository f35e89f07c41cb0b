using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Http;

namespace Flotilla.Tests.Kubernetes;

/// <summary>
/// The fake API server's Secrets: apply (a uid and creationTimestamp given on creation and kept), LIST by
/// label selector (as a PartialObjectMetadataList, without values, when the Accept header asks for it),
/// DELETE (with a uid precondition: 409 when it is another's), and the garbage collector of owned ones;
/// and, from outside, Secrets made by others, made again, and time passing over them. Also ReplicaSet
/// applies refused on demand (an admission webhook, a quota).
/// </summary>
internal sealed partial class FakeApiServer
{
    private readonly Dictionary<string, V1Secret> _secrets = new(StringComparer.Ordinal);
    private volatile int _refuseReplicaSets;
    private string? _remakeAfterList;
    private int _secretListsWithValues;

    /// <summary>Secret lists answered with their values (a client that did not ask for metadata only).</summary>
    public int SecretListsWithValues => Volatile.Read(ref _secretListsWithValues);

    /// <summary>Right after the next Secret list is taken, the Secret <paramref name="name"/> is deleted and made again (a new uid, made now), as another client would.</summary>
    public void RemakeSecretAfterNextList(string name)
    {
        lock (_gate)
        {
            _remakeAfterList = name;
        }
    }

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

    /// <summary>
    /// A list as the API server answers it: metadata only when asked (client-go's metadata client's Accept),
    /// with null items when none match; whole otherwise. A Secret to be made again is made again right after
    /// the list is taken, before the answer leaves.
    /// </summary>
    private async Task ListSecretsAsync(HttpContext context, string selector)
    {
        IEnumerable<V1Secret> Matching() => _secrets.Values.Where(r => Matches(r.Metadata.Labels, selector));
        if (context.Request.Headers.Accept.ToString().Contains("as=PartialObjectMetadataList", StringComparison.Ordinal))
        {
            await ListAsync(context, "PartialObjectMetadataList", "meta.k8s.io/v1", () => Matching()
                .Select(r => new Dictionary<string, object> { ["apiVersion"] = "meta.k8s.io/v1", ["kind"] = "PartialObjectMetadata", ["metadata"] = r.Metadata }),
                emptyAsNull: true, listed: RemakeAsAsked);
        }
        else
        {
            Interlocked.Increment(ref _secretListsWithValues);
            await ListAsync(context, "SecretList", "v1", Matching, listed: RemakeAsAsked);
        }
    }

    private void RemakeAsAsked()
    {
        if (_remakeAfterList is { } name && _secrets.TryGetValue(name, out var secret))
        {
            _remakeAfterList = null;
            secret.Metadata.Uid = Guid.NewGuid().ToString();
            secret.Metadata.CreationTimestamp = DateTime.UtcNow;
            secret.Metadata.ResourceVersion = (++_version).ToString(System.Globalization.CultureInfo.InvariantCulture);
        }
    }

    private (int, string) DeleteSecret(string name, string body)
    {
        lock (_gate)
        {
            if (!_secrets.TryGetValue(name, out var secret))
            {
                return (404, Status(404, $"secrets \"{name}\" not found"));
            }
            var options = body.Length > 0 ? KubernetesJson.Deserialize<V1DeleteOptions>(body) : null;
            if (options?.Preconditions?.Uid is { } uid && uid != secret.Metadata.Uid)
            {
                return (409, Status(409, $"Operation cannot be fulfilled on secrets \"{name}\": Precondition failed: UID in precondition: {uid}, UID in object meta: {secret.Metadata.Uid}"));
            }
            _secrets.Remove(name);
            return (200, Status(200, "deleted"));
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
