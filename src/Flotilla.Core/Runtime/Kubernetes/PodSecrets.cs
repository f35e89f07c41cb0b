using k8s.Models;

namespace Flotilla.Runtime.Kubernetes;

/// <summary>
/// The secrets of one revision as Kubernetes holds them: one Secret, named as the revision's
/// ReplicaSet and labelled as it is, holding each value under its variable's name (a rotated value
/// is a new revision, so a Secret never changes under running pods). The pod spec only refers to it:
/// a variable secret reaches the program as that environment variable (<c>secretKeyRef</c>, set by the
/// kubelet), a file secret as a file in a read-only volume at <see cref="MountPath"/> (mode 0400) whose
/// path is in the variable, as on Docker and Swarm. No value is ever in the ReplicaSet, the render or a log.
/// </summary>
internal static class PodSecrets
{
    public const string MountPath = "/run/secrets/flotilla";
    private const string VolumeName = "flotilla-secrets";

    public static V1Secret Build(string owner, string ns, InstanceLaunch launch, IReadOnlyDictionary<string, string> values) => new()
    {
        ApiVersion = "v1",
        Kind = "Secret",
        Type = "Opaque",
        Metadata = new V1ObjectMeta
        {
            Name = ReplicaSets.Name(owner, launch.Service, launch.Revision),
            NamespaceProperty = ns,
            Labels = new Dictionary<string, string>(StringComparer.Ordinal)
            {
                [ReplicaSets.OwnerLabel] = owner,
                [ReplicaSets.ServiceLabel] = launch.Service,
                [ReplicaSets.RevisionLabel] = launch.Revision,
                [ReplicaSets.ManagedByLabel] = ReplicaSets.FieldManager,
            },
        },
        Data = values.ToDictionary(v => v.Key, v => System.Text.Encoding.UTF8.GetBytes(v.Value), StringComparer.Ordinal),
    };

    /// <summary>Refers the container to the revision's Secret: variables by secretKeyRef, files in a read-only volume.</summary>
    public static void Refer(V1PodSpec pod, V1Container container, string secretName, IReadOnlyList<Secrets.SecretRef> secrets)
    {
        if (secrets.Count == 0)
        {
            return;
        }
        var env = container.Env.Where(e => secrets.All(s => s.Variable != e.Name)).ToList();
        foreach (var secret in secrets.OrderBy(s => s.Variable, StringComparer.Ordinal))
        {
            env.Add(secret.AsFile
                ? new V1EnvVar { Name = secret.Variable, Value = $"{MountPath}/{secret.Variable}" }
                : new V1EnvVar { Name = secret.Variable, ValueFrom = new V1EnvVarSource { SecretKeyRef = new V1SecretKeySelector { Name = secretName, Key = secret.Variable } } });
        }
        container.Env = env;
        var files = secrets.Where(s => s.AsFile).ToList();
        if (files.Count == 0)
        {
            return;
        }
        pod.Volumes = [new V1Volume
        {
            Name = VolumeName,
            Secret = new V1SecretVolumeSource
            {
                SecretName = secretName,
                DefaultMode = Convert.ToInt32("400", 8),
                Items = files.Select(f => new V1KeyToPath { Key = f.Variable, Path = f.Variable }).ToList(),
            },
        }];
        container.VolumeMounts = [new V1VolumeMount { Name = VolumeName, MountPath = MountPath, ReadOnlyProperty = true }];
    }
}
