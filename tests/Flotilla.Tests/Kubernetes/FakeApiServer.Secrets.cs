using System.Text.Json.Nodes;
using System.Threading.Channels;
using k8s;
using k8s.Models;
using Microsoft.AspNetCore.Http;

namespace Flotilla.Tests.Kubernetes;

/// <summary>The fake API server's Secrets: apply, list, delete, and the garbage collector of owned ones.</summary>
internal sealed partial class FakeApiServer
{
    private readonly Dictionary<string, V1Secret> _secrets = new(StringComparer.Ordinal);

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
