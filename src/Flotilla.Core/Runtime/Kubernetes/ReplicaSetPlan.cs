namespace Flotilla.Runtime.Kubernetes;

/// <summary>
/// What makes the listed ReplicaSets match the bindings, as a pure function: counts to set, drained
/// pods to mark first (a scale-down waits until the watch shows every drained pod of its ReplicaSet
/// marked, so the ReplicaSet controller has seen the marks too), new revisions to apply (when their
/// launch is known), and emptied ReplicaSets with no pod left to delete. The mark belongs only to
/// pods being stopped: a serving instance's pod that carries it (the bindings swapped after the
/// ReplicaSet removed another pod, or a restarted control plane adopted a pod marked before it went
/// away) is unmarked, and its ReplicaSet is not scaled down until the watch shows the mark gone,
/// else that serving pod would be the one removed, undrained.
/// </summary>
internal sealed record ReplicaSetPlan(
    IReadOnlyList<(string Name, int Replicas)> Scales,
    IReadOnlyList<string> Marks,
    IReadOnlyList<string> Unmarks,
    IReadOnlyList<(InstanceLaunch Launch, int Replicas)> Creations,
    IReadOnlyList<ReplicaSetApi.Listed> Deletions)
{
    /// <summary>A scale-down waits for marks: plan again once the watch shows them.</summary>
    public bool Deferred { get; init; }

    public static ReplicaSetPlan Plan(string owner, IReadOnlyList<PodBinding> bindings, IReadOnlyList<ReplicaSetApi.Listed> listed,
        IReadOnlyDictionary<string, ObservedPod> pods, IReadOnlyDictionary<string, InstanceLaunch> launches, IReadOnlySet<string> uncostable)
    {
        var scales = new List<(string, int)>();
        var marks = new List<string>();
        // Pods of serving instances that carry the drained mark; pods whose cost Flotilla cannot set do not hold a scale-down up.
        var unmarks = bindings.Where(b => !b.Leaving && !b.Gone && b.Pod is { } p && pods.GetValueOrDefault(p) is { Live: true, DeletionCost: ReplicaSets.DrainedCost } && !uncostable.Contains(p))
            .Select(b => b.Pod!).ToList();
        var deletions = new List<ReplicaSetApi.Listed>();
        var deferred = false;
        var wanted = bindings.Where(b => !b.Leaving && !b.Gone).GroupBy(b => ReplicaSets.Name(owner, b.Service, b.Revision))
            .ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        foreach (var set in listed)
        {
            var count = wanted.GetValueOrDefault(set.Name);
            if (count < set.Replicas && count > 0)
            {
                var unmarked = bindings.Where(b => b.Leaving && !b.Gone && b.Service == set.Service && b.Revision == set.Revision && b.Pod is { } p
                    && pods.GetValueOrDefault(p) is { Live: true } pod && pod.DeletionCost != ReplicaSets.DrainedCost && !uncostable.Contains(p)).Select(b => b.Pod!).ToList();
                var serving = bindings.Any(b => !b.Leaving && !b.Gone && b.Service == set.Service && b.Revision == set.Revision && b.Pod is { } p && unmarks.Contains(p));
                if (unmarked.Count > 0 || serving)
                {
                    marks.AddRange(unmarked);
                    deferred = true;
                    continue;
                }
            }
            if (count != set.Replicas)
            {
                scales.Add((set.Name, count));
            }
            else if (count == 0 && !pods.Values.Any(p => p.Service == set.Service && p.Revision == set.Revision))
            {
                deletions.Add(set);
            }
        }
        var creations = wanted.Where(w => listed.All(r => r.Name != w.Key) && launches.ContainsKey(w.Key)).Select(w => (launches[w.Key], w.Value)).ToList();
        return new ReplicaSetPlan(scales, marks, unmarks, creations, deletions) { Deferred = deferred };
    }
}
