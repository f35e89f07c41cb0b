using k8s;

namespace Flotilla.Kubernetes;

/// <summary>
/// What a render produced: the objects in the order they are applied (namespace and quota first,
/// then config, workloads, services), and what the cluster must already hold for them to run
/// (Secrets are referenced by name, never rendered with their values).
/// </summary>
public sealed record KubernetesManifest(
    string Namespace,
    IReadOnlyList<IKubernetesObject> Objects,
    IReadOnlyList<RequiredSecret> RequiredSecrets,
    IReadOnlyList<string> Skipped);

/// <summary>A Secret the rendered objects read and the cluster must have: its name and the keys read from it.</summary>
public sealed record RequiredSecret(string Name, IReadOnlyList<string> Keys);
