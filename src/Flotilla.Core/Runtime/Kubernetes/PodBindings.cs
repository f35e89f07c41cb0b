namespace Flotilla.Runtime.Kubernetes;

/// <summary>
/// Keeps Flotilla's instances bound to pods, as a pure function of the bindings and the pods the
/// API server reports. Pods have no slots: a pod that goes (deleted, evicted, failed) leaves its
/// instance waiting, and the next pod the ReplicaSet makes for that revision takes it over, so the
/// instance survives its pod. Flotilla marks the pod it drained with the lowest
/// <c>pod-deletion-cost</c> before it scales down, but the ReplicaSet ranks unready and unscheduled
/// pods before cost; when it removes another pod than the drained one, the bindings swap, as with
/// Swarm's slots: the drained instance takes the pod being removed, the other keeps serving from the drained one's pod.
/// </summary>
internal static class PodBindings
{
    public static IReadOnlyList<PodBinding> Rebind(IReadOnlyList<PodBinding> bindings, IReadOnlyCollection<ObservedPod> pods, DateTimeOffset now)
    {
        var result = bindings.ToList();
        var revisions = pods.Select(p => (p.Service, p.Revision)).Concat(bindings.Select(b => (b.Service, b.Revision))).Distinct();
        foreach (var (service, revision) in revisions.ToList())
        {
            Rebind(result, service, revision, pods.Where(p => p.Service == service && p.Revision == revision).ToList(), now);
        }
        return result;
    }

    private static void Rebind(List<PodBinding> bindings, string service, string revision, List<ObservedPod> pods, DateTimeOffset now)
    {
        var live = pods.Where(p => p.Live).Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var present = pods.Select(p => p.Name).ToHashSet(StringComparer.Ordinal);
        var mine = bindings.Where(b => b.Service == service && b.Revision == revision && !b.Gone).ToList();
        void Replace(PodBinding old, PodBinding now)
        {
            bindings[bindings.IndexOf(old)] = now;
            mine[mine.IndexOf(old)] = now;
        }

        // A pod going that holds an instance Flotilla did not ask to stop: swap with one it did ask to stop; else the instance waits for the replacement.
        foreach (var taken in mine.Where(b => !b.Leaving && b.Pod is { } p && !live.Contains(p)).ToList())
        {
            var asked = mine.FirstOrDefault(b => b.Leaving && b.Pod is { } p && live.Contains(p));
            if (asked is not null)
            {
                var (kept, going) = (asked.Pod, taken.Pod);
                Replace(taken, taken with { Pod = kept });
                Replace(asked, asked with { Pod = going });
            }
            else
            {
                Replace(taken, taken with { Pod = null });
            }
        }

        // Live pods no instance holds: to instances waiting for a pod, oldest first; else a new instance (found after a restart, or made beyond what Flotilla asked).
        var held = mine.Where(b => b.Pod is not null).Select(b => b.Pod!).ToHashSet(StringComparer.Ordinal);
        foreach (var pod in pods.Where(p => p.Live && !held.Contains(p.Name)).OrderBy(p => p.CreatedAt).ThenBy(p => p.Name, StringComparer.Ordinal))
        {
            var waiting = mine.Where(b => b.Pod is null && !b.Leaving).OrderBy(b => b.StartedAt).FirstOrDefault();
            if (waiting is not null)
            {
                Replace(waiting, waiting with { Pod = pod.Name });
            }
            else
            {
                var adopted = new PodBinding(InstanceId(service, revision, pod.Name), service, revision, pod.Name, false, now);
                bindings.Add(adopted);
                mine.Add(adopted);
            }
        }

        // An instance Flotilla asked to stop is gone once its pod is: deleted by the ReplicaSet (or never made).
        foreach (var leaving in mine.Where(b => b.Leaving && (b.Pod is null || !present.Contains(b.Pod))).ToList())
        {
            bindings[bindings.IndexOf(leaving)] = leaving with { Gone = true };
        }
    }

    /// <summary>The name of an instance Flotilla did not start itself: its service, revision and the pod's own suffix.</summary>
    public static string InstanceId(string service, string revision, string pod) =>
        $"{service}-{revision[..Math.Min(5, revision.Length)]}-{pod[(pod.LastIndexOf('-') + 1)..]}";
}
