using k8s.Models;

namespace Flotilla.Kubernetes;

/// <summary>
/// A live Service that server-side apply cannot turn into the rendered one. An earlier Flotilla rendered
/// each service's Service headless (<c>clusterIP: None</c>); now it renders a ClusterIP Service, which
/// omits clusterIP so the API server allocates one. Applied onto the headless one, it stays headless:
/// the server copies the clusterIP it holds into an update that omits it (patchAllocatedValues in
/// Kubernetes' pkg/registry/core/service/strategy.go), and asking for an IP instead is refused
/// (422, <c>spec.clusterIPs[0]: may not change once set</c>). Such a Service is deleted and created
/// again, as <c>kubectl replace --force</c> and Argo CD's <c>Replace=true</c> do.
/// </summary>
internal static class ServiceReplacement
{
    private const string Headless = "None";

    /// <summary>Why <paramref name="live"/> must be deleted before <paramref name="rendered"/> is applied, or null when applying is enough.</summary>
    public static string? Reason(V1Service live, V1Service rendered) =>
        live.Spec?.ClusterIP == Headless && rendered.Spec?.ClusterIP != Headless
            ? "it is headless (clusterIP None, as an earlier Flotilla rendered it) and Kubernetes does not give a Service a cluster IP in place"
            : null;

    /// <summary>
    /// Whether <paramref name="live"/> is Flotilla's, of the rendered one's system: only such a Service is
    /// deleted. One a person or another tool made under that name is theirs (as prune never touches it).
    /// </summary>
    public static bool IsOurs(V1Service live, V1Service rendered) =>
        Label(live, KubernetesNames.ManagedByLabel) == KubernetesNames.FieldManager
        && Label(rendered, KubernetesNames.SystemLabel) is { } system
        && Label(live, KubernetesNames.SystemLabel) == system;

    private static string? Label(V1Service service, string name) =>
        service.Metadata.Labels is { } labels && labels.TryGetValue(name, out var value) ? value : null;
}
