namespace Flotilla.Federation;

/// <summary>
/// Decides, from the desired revision and what each cluster was last seen doing, what happens next
/// to each cluster. Pure: no I/O, time passed in. A cluster that cannot be reached waits for its
/// back-off and never holds up the others; in an ordered release the first cluster is the canary:
/// the rest wait until it runs the revision ready and stop if it fails, and each later cluster waits
/// for the ones before it, except those that cannot be reached (marked, retried, skipped).
/// </summary>
public static class FederationPlanner
{
    public static IReadOnlyList<ClusterStep> Plan(FederationRevision desired, IReadOnlyDictionary<string, ClusterObservation> observed, DateTimeOffset now)
    {
        var steps = new List<ClusterStep>();
        for (var i = 0; i < desired.Clusters.Count; i++)
        {
            var name = desired.Clusters[i];
            var seen = observed.GetValueOrDefault(name) ?? ClusterObservation.Initial(ClusterProgress.None(name));
            steps.Add(Step(desired, i, seen, observed, now));
        }
        return steps;
    }

    private static ClusterStep Step(FederationRevision desired, int index, ClusterObservation seen, IReadOnlyDictionary<string, ClusterObservation> observed, DateTimeOffset now)
    {
        var n = desired.Number;
        if (seen.Applying)
        {
            return new(seen.Cluster, ClusterAction.Applying, $"applying revision {n}");
        }
        if (seen.Progress.Revision == n)
        {
            return new(seen.Cluster, ClusterAction.None, seen.Health switch
            {
                ClusterHealth.Healthy => $"runs revision {n}",
                ClusterHealth.Failed => $"failed revision {n}: {seen.Progress.Failed ?? seen.HealthDetail}",
                _ => $"releasing revision {n}{(seen.HealthDetail is { } d ? $": {d}" : "")}",
            });
        }
        if (desired.Ordered && index > 0 && Gate(desired, index, observed) is { } gate)
        {
            return gate;
        }
        if (seen.Reachable == false && seen.RetryAt is { } retry && now < retry)
        {
            return new(seen.Cluster, ClusterAction.Wait, $"unreachable ({seen.Cause}); next try at {retry:HH:mm:ss}");
        }
        return new(seen.Cluster, ClusterAction.Apply, $"gets revision {n}");
    }

    /// <summary>Why cluster <paramref name="index"/> of an ordered release may not go yet, or null when it may.</summary>
    private static ClusterStep? Gate(FederationRevision desired, int index, IReadOnlyDictionary<string, ClusterObservation> observed)
    {
        var n = desired.Number;
        var name = desired.Clusters[index];
        for (var j = 0; j < index; j++)
        {
            var before = observed.GetValueOrDefault(desired.Clusters[j]) ?? ClusterObservation.Initial(ClusterProgress.None(desired.Clusters[j]));
            if (before.FailedAt(n))
            {
                return new(name, ClusterAction.Halted, $"cluster '{before.Cluster}' failed revision {n}{(j == 0 ? " (the canary)" : "")}: the release stops there");
            }
        }
        for (var j = 0; j < index; j++)
        {
            var before = observed.GetValueOrDefault(desired.Clusters[j]) ?? ClusterObservation.Initial(ClusterProgress.None(desired.Clusters[j]));
            if (before.HealthyAt(n))
            {
                continue;
            }
            // Only the canary's verdict is waited for whatever happens to it; a later cluster that cannot be reached is passed over.
            if (j > 0 && before.Reachable == false && !before.Applying)
            {
                continue;
            }
            var why = before.Reachable == false ? $"unreachable: {before.Cause}" : before.Progress.Revision == n ? "not ready yet" : "not released yet";
            return new(name, ClusterAction.Hold, $"waits for {(j == 0 ? "the canary " : "")}cluster '{before.Cluster}' to run revision {n} ready ({why})");
        }
        return null;
    }

    /// <summary>How long after <paramref name="failures"/> failures in a row the next try waits: doubling from <paramref name="first"/>, at most <paramref name="max"/>.</summary>
    public static TimeSpan Backoff(int failures, TimeSpan first, TimeSpan max)
    {
        if (failures <= 0)
        {
            return TimeSpan.Zero;
        }
        var ticks = first.Ticks * Math.Pow(2, Math.Min(failures - 1, 20));
        return ticks >= max.Ticks ? max : TimeSpan.FromTicks((long)ticks);
    }
}
