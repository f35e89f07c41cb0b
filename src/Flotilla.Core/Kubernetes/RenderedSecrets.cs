using System.Security.Cryptography;
using Flotilla.Model;
using k8s.Models;

namespace Flotilla.Kubernetes;

/// <summary>
/// The Secrets a render carries with their values, only when asked (<c>--include-secrets</c>): those
/// of <c>file:</c> secrets, read from the files beside the spec. <c>store:</c> secrets live in a
/// Flotilla server's store, which a render does not reach: they stay references the cluster must hold.
/// Each Secret's name ends in a digest of its value (<c>tls-key-1a2b3c4d5e</c>): a changed value is a
/// new Secret beside the old one, so the old revision's pods keep reading what they started with
/// (a restart or a rollback included) and prune takes the old Secret with its revision. Two services
/// whose files give one name different values are refused, naming both files.
/// </summary>
internal static class RenderedSecrets
{
    /// <summary>Each Secret's value, by the name pods reference it by.</summary>
    public static IReadOnlyDictionary<string, byte[]> Read(IEnumerable<ServiceSpec> services)
    {
        var values = new SortedDictionary<string, (byte[] Value, string File)>(StringComparer.Ordinal);
        foreach (var secret in services.SelectMany(s => s.Secrets).Where(s => s.File is not null))
        {
            byte[] value;
            try
            {
                value = File.ReadAllBytes(secret.File!);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ArgumentException($"{secret.At}: secret {secret.Variable}: {secret.File} cannot be read for --include-secrets: {e.Message}", e);
            }
            var name = KubernetesNames.Secret(secret);
            if (values.TryGetValue(name, out var other) && !other.Value.AsSpan().SequenceEqual(value))
            {
                throw new ArgumentException($"{secret.At}: Secret '{name}' would hold both {other.File} and {secret.File}, which differ: give one of the variables another name");
            }
            values[name] = (value, secret.File!);
        }
        return values.ToDictionary(v => v.Key, v => v.Value.Value, StringComparer.Ordinal);
    }

    /// <summary>The name a rendered Secret is given: the name pods would reference, cut to leave room, and its value's digest.</summary>
    public static string NameOf(string name, byte[] value) =>
        $"{name[..Math.Min(52, name.Length)].TrimEnd('-')}-{Convert.ToHexStringLower(SHA256.HashData(value))[..10]}";

    /// <summary>A digest of the values a service's pods read, so a changed value renders a new revision.</summary>
    public static string? DigestFor(ServiceSpec service, IReadOnlyDictionary<string, byte[]> values)
    {
        var names = service.Secrets.Select(KubernetesNames.Secret).Where(values.ContainsKey).Distinct().Order(StringComparer.Ordinal).ToList();
        if (names.Count == 0)
        {
            return null;
        }
        using var hash = IncrementalHash.CreateHash(HashAlgorithmName.SHA256);
        foreach (var name in names)
        {
            hash.AppendData(System.Text.Encoding.UTF8.GetBytes(name + "\0"));
            hash.AppendData(SHA256.HashData(values[name]));
        }
        return Convert.ToHexStringLower(hash.GetHashAndReset());
    }

    public static V1Secret Object(SystemSpec spec, string ns, string name, byte[] value) => new()
    {
        // name: NameOf(...), as the pods reference it.
        ApiVersion = "v1",
        Kind = "Secret",
        Type = "Opaque",
        Metadata = new V1ObjectMeta
        {
            Name = name,
            NamespaceProperty = ns,
            Labels = new Dictionary<string, string> { [KubernetesNames.SystemLabel] = spec.Name, [KubernetesNames.ManagedByLabel] = KubernetesNames.FieldManager },
        },
        Data = new Dictionary<string, byte[]>(StringComparer.Ordinal) { [ServicePods.SecretKey] = value },
    };
}
