namespace Flotilla.Kubernetes;

/// <summary>
/// What a render may vary beyond the spec: <see cref="Registry"/> prefixes the images Flotilla
/// builds (a cluster pulls from a registry, not from this machine), and <see cref="RouterImage"/>
/// is the image that runs Flotilla's router.
/// </summary>
public sealed record KubernetesRenderOptions(string? Registry = null, string RouterImage = KubernetesRenderOptions.DefaultRouterImage)
{
    public const string DefaultRouterImage = "flotilla:latest";
}
