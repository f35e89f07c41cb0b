using System.Globalization;
using k8s.Models;

namespace Flotilla.Kubernetes;

/// <summary>
/// Whether the system's Deployments in its namespace ask for more pods than the rendered quota's
/// <c>pods</c> limit allows: then the quota refuses the pods of the Deployments made last (the new
/// revision's), and a wait for them never ends. Only the pod count is checked (cpu and memory limits
/// grow with it: the quota holds every service twice over in all three).
/// </summary>
public static class QuotaRoom
{
    /// <summary>The pods asked for and allowed when more are asked than allowed; null when they fit or nothing limits them.</summary>
    public static (int Asked, int Allowed)? Exceeded(KubernetesManifest manifest, IEnumerable<int> replicas)
    {
        var hard = manifest.Objects.OfType<V1ResourceQuota>().Select(q => q.Spec?.Hard?.TryGetValue("pods", out var pods) == true ? pods.ToString() : null).FirstOrDefault();
        if (!int.TryParse(hard, NumberStyles.None, CultureInfo.InvariantCulture, out var allowed))
        {
            return null;
        }
        var asked = replicas.Sum();
        return asked > allowed ? (asked, allowed) : null;
    }
}
