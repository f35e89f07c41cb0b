namespace Flotilla.Kubernetes;

/// <summary>
/// Which old revisions <c>apply --prune</c> deletes before waiting for the new ones. The namespace's quota
/// holds every service twice over (a new revision beside one old one), so a third revision left by applies
/// without <c>--prune</c> leaves the new one's pods refused, and a wait that never ends. As the Deployment
/// controller and Argo Rollouts scale old ReplicaSets away once a newer one is available: per service, the
/// newest old revision that is fully available (as <c>kubectl rollout status</c> judges) stays until the new
/// one is available; the old revisions created before it go now. Revisions created in the same second (the
/// resolution of creationTimestamp) cannot be ordered, so none of them is deleted for another. When no old
/// revision is fully available, all stay. A revision scaled to 0 counts as rolled out (0 of 0) but serves
/// nothing, so it never protects an older one: after a rollback by hand (the newer scaled to 0, the older
/// serving), the older is the one that stays. Pure: the same revisions give the same plan.
/// </summary>
public static class EarlyPrunePlanner
{
    public static EarlyPrunePlan Plan(IReadOnlyList<OldRevision> old)
    {
        var delete = new List<EarlyPrunePlan.Deletion>();
        var unsure = new List<EarlyPrunePlan.Unsure>();
        foreach (var service in old.GroupBy(r => r.Service, StringComparer.Ordinal).OrderBy(g => g.Key, StringComparer.Ordinal))
        {
            var newest = service.Where(r => r.NotRolledOut is null && r.Replicas > 0).OrderByDescending(r => r.Created).ThenBy(r => r.Deployment, StringComparer.Ordinal).FirstOrDefault();
            if (newest is null)
            {
                unsure.Add(new EarlyPrunePlan.Unsure(service.Key, [.. service.OrderBy(r => r.Created)]));
                continue;
            }
            delete.AddRange(service.Where(r => r.Created < newest.Created).OrderBy(r => r.Created).ThenBy(r => r.Deployment, StringComparer.Ordinal)
                .Select(r => new EarlyPrunePlan.Deletion(r, newest.Deployment)));
        }
        return new EarlyPrunePlan(delete, unsure);
    }
}
