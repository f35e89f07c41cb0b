using Flotilla.Model;

namespace Flotilla.Kubernetes;

/// <summary>
/// What a render may vary beyond the spec: <see cref="Registry"/> prefixes the images Flotilla
/// builds (a cluster pulls from a registry, not from this machine), <see cref="RouterImage"/> is the
/// image that runs Flotilla's router, and <see cref="ArtifactDigest"/> gives the content digest of a
/// service's artifact (of its sources, as the artifact store computes it, unless a test fixes it).
/// <see cref="Tenant"/> names the tenant whose system this is: its namespace is the tenant's own.
/// <see cref="IncludeSecrets"/> renders the Secrets of <c>file:</c> secrets with their values (asked
/// for by name: otherwise no value is ever rendered); <c>store:</c> ones stay references.
/// </summary>
public sealed record KubernetesRenderOptions(string? Registry = null, string RouterImage = KubernetesRenderOptions.DefaultRouterImage, Func<ServiceSpec, string?>? ArtifactDigest = null, string? Tenant = null,
    bool IncludeSecrets = false)
{
    public const string DefaultRouterImage = "flotilla:latest";

    public string? DigestOf(ServiceSpec service) => (ArtifactDigest ?? Artifacts.ArtifactStore.DigestOf)(service);
}
