using Flotilla.Runtime;

namespace Flotilla.Controllers.InstanceSets;

/// <summary>
/// The reconciler as a pure function: desired services, observed instances, failure history
/// and the time in; a plan out. No I/O, so every decision is testable as a table of cases.
/// A revision change is a rolling update within the service's maxSurge and maxUnavailable
/// (by default surge-first: never fewer available than desired), where a new instance counts as
/// available once it has been ready for minReady; a paused rollout holds where it is.
/// </summary>
public static class InstanceSetPlanner
{
    public static ReconcilePlan Plan(
        IReadOnlyList<DesiredService> desired,
        IReadOnlyList<InstanceStatus> observed,
        IReadOnlyDictionary<string, ServiceHealth> health,
        DateTimeOffset now)
    {
        var starts = new List<StartInstance>();
        var stops = new List<StopInstance>();
        var forgets = new List<ForgetInstance>();
        var waiting = new Dictionary<string, string>(StringComparer.Ordinal);
        DateTimeOffset? wakeAt = null;
        var updatedHealth = new Dictionary<string, ServiceHealth>(health, StringComparer.Ordinal);
        void Failed(InstanceStatus instance, string reason, bool afterStableRun) =>
            updatedHealth[instance.Service] = updatedHealth.GetValueOrDefault(instance.Service, ServiceHealth.None).WithFailure(now, reason, afterStableRun, instance.Revision);

        // Failures seen now count before anything is started, so the back-off applies to this very pass.
        foreach (var instance in observed)
        {
            if (instance.State == InstanceState.Exited)
            {
                var failure = !instance.StopRequested;
                forgets.Add(new ForgetInstance(instance.Id, instance.Service, failure, StableRun(instance, now), instance.Reason));
                if (failure)
                {
                    Failed(instance, instance.Reason ?? "exited", StableRun(instance, now));
                }
            }
            else if (instance.State == InstanceState.Unhealthy)
            {
                stops.Add(new StopInstance(instance.Id, instance.Service, instance.Reason ?? "unhealthy", Failure: true, StableRun(instance, now)));
                Failed(instance, instance.Reason ?? "unhealthy", StableRun(instance, now));
            }
        }

        var names = desired.Select(d => d.Name).ToHashSet(StringComparer.Ordinal);
        foreach (var orphan in observed.Where(i => i.IsLive && !names.Contains(i.Service)))
        {
            stops.Add(new StopInstance(orphan.Id, orphan.Service, "service removed from the spec", false, false));
        }

        var byService = observed.ToLookup(i => i.Service, StringComparer.Ordinal);
        var readyByService = observed.Where(i => i.InRotation).GroupBy(i => i.Service).ToDictionary(g => g.Key, g => g.Count(), StringComparer.Ordinal);
        foreach (var service in desired)
        {
            var zones = service.ZoneNames;
            var live = byService[service.Name].Where(i => i.IsLive).ToList();
            // An instance in a zone that is down (or no longer declared) is failed over: replaced elsewhere at once.
            foreach (var displaced in live.Where(i => zones.Count > 0 && (i.Zone is null || !zones.Contains(i.Zone))).ToList())
            {
                stops.Add(new StopInstance(displaced.Id, service.Name, displaced.Zone is null ? "placed in a zone" : $"zone {displaced.Zone} is not available", false, false));
                live.Remove(displaced);
            }
            if (service.Stable is not null)
            {
                PlanSideBySide(service, live, readyByService, updatedHealth, desired, now, starts, stops, waiting, ref wakeAt);
                continue;
            }
            var current = live.Where(i => i.Revision == service.Revision).ToList();
            var old = live.Where(i => i.Revision != service.Revision).ToList();
            var rollout = service.RolloutOrDefault;
            var (surge, unavailable) = rollout.Resolve(service.Instances);
            if (old.Count > 0 && service.Paused)
            {
                waiting[service.Name] = $"rollout paused: {current.Count} of {service.Instances} on revision {service.Revision}, {old.Count} on older ones";
                continue;
            }

            var toStart = old.Count == 0
                ? service.Instances - current.Count
                : Math.Min(service.Instances - current.Count, service.Instances + surge - live.Count);
            var rebalance = toStart == 0 && old.Count == 0 && Zones.NeedsRebalance(zones, current) && current.All(i => i.InRotation);
            if (toStart > 0 || rebalance)
            {
                var blocker = StartBlocker(service, service.Revision, live.Count, readyByService, updatedHealth, desired, now, ref wakeAt);
                if (blocker is null)
                {
                    var placed = Zones.Counts(zones, current);
                    for (var n = 0; n < Math.Max(toStart, 1); n++)
                    {
                        var zone = Zones.Emptiest(zones, placed);
                        starts.Add(new StartInstance(service.Name, service.Revision, zone));
                    }
                }
                else
                {
                    waiting[service.Name] = blocker;
                }
            }

            // A surplus from re-spreading over zones goes only once its replacement is ready (surge first).
            var surplus = current.Count - service.Instances;
            var settling = zones.Count > 0 && surplus == 1 && current.Any(i => !i.InRotation);
            foreach (var extra in settling ? [] : Zones.ScaleDownOrder(zones, current, ScaleDownOrder).Take(surplus))
            {
                var why = extra.Zone is null ? $"scaled down to {service.Instances}" : $"scaled down to {service.Instances}, from zone {extra.Zone} (the fullest)";
                stops.Add(new StopInstance(extra.Id, service.Name, why, false, false));
            }

            // Old revision: unready ones go at once; available ones only while at least desired - maxUnavailable stay available.
            var stoppable = live.Count(i => Available(i, rollout.MinReady, now, ref wakeAt)) - (service.Instances - unavailable);
            foreach (var instance in ScaleDownOrder(old))
            {
                if (!instance.InRotation || stoppable-- > 0)
                {
                    stops.Add(new StopInstance(instance.Id, service.Name, $"replaced by revision {service.Revision}", false, false));
                }
            }
        }
        return new ReconcilePlan(starts, stops, forgets, waiting, wakeAt, updatedHealth);
    }

    /// <summary>
    /// A canary, blue-green or parallel release: two revisions side by side (three with a baseline), each
    /// kept at its own count (the rollout controller moves the counts); instances of any other revision go.
    /// </summary>
    private static void PlanSideBySide(
        DesiredService service,
        List<InstanceStatus> live,
        IReadOnlyDictionary<string, int> readyByService,
        IReadOnlyDictionary<string, ServiceHealth> health,
        IReadOnlyList<DesiredService> desired,
        DateTimeOffset now,
        List<StartInstance> starts,
        List<StopInstance> stops,
        Dictionary<string, string> waiting,
        ref DateTimeOffset? wakeAt)
    {
        var sides = service.Sides.ToList();
        foreach (var other in live.Where(i => sides.All(side => side.Revision != i.Revision)))
        {
            stops.Add(new StopInstance(other.Id, service.Name, $"replaced by revision {service.Revision}", false, false));
        }
        foreach (var (revision, count) in sides.Select(side => (side.Revision, side.Instances)))
        {
            var current = live.Where(i => i.Revision == revision).ToList();
            var zones = service.ZoneNames;
            if (count > current.Count)
            {
                if (StartBlocker(service, revision, live.Count, readyByService, health, desired, now, ref wakeAt) is { } blocker)
                {
                    waiting[service.Name] = blocker;
                    continue;
                }
                var placed = Zones.Counts(zones, current);
                for (var n = current.Count; n < count; n++)
                {
                    starts.Add(new StartInstance(service.Name, revision, Zones.Emptiest(zones, placed)));
                }
            }
            foreach (var extra in Zones.ScaleDownOrder(zones, current, ScaleDownOrder).Take(current.Count - count))
            {
                stops.Add(new StopInstance(extra.Id, service.Name, $"revision {revision} scaled to {count} by the rollout", false, false));
            }
        }
    }

    /// <summary>Why a service may not start instances now (back-off, dependencies), or null.</summary>
    private static string? StartBlocker(
        DesiredService service,
        string revision,
        int liveCount,
        IReadOnlyDictionary<string, int> readyByService,
        IReadOnlyDictionary<string, ServiceHealth> health,
        IReadOnlyList<DesiredService> desired,
        DateTimeOffset now,
        ref DateTimeOffset? wakeAt)
    {
        if (health.TryGetValue(service.Name, out var history) && history.LastFailureAt is { } failedAt && history.Holds(revision))
        {
            var retryAt = failedAt + service.Restart.DelayAfter(history.ConsecutiveFailures);
            if (retryAt > now)
            {
                wakeAt = wakeAt is null || retryAt < wakeAt ? retryAt : wakeAt;
                return $"crash loop: {history.ConsecutiveFailures} failures in a row, next start in {Model.Quantities.Format(retryAt - now)}";
            }
        }
        if (liveCount == 0)
        {
            var missing = service.DependsOn
                .Where(d => desired.Any(s => s.Name == d && s.Instances > 0) && readyByService.GetValueOrDefault(d) == 0)
                .ToList();
            if (missing.Count > 0)
            {
                return $"waiting for {string.Join(", ", missing)} to have a ready instance";
            }
        }
        return null;
    }

    /// <summary>Ready for at least <paramref name="minReady"/>; otherwise asks to be woken when it will be.</summary>
    private static bool Available(InstanceStatus instance, TimeSpan minReady, DateTimeOffset now, ref DateTimeOffset? wakeAt)
    {
        if (!instance.InRotation)
        {
            return false;
        }
        var availableAt = (instance.ReadySince ?? now) + minReady;
        if (availableAt <= now)
        {
            return true;
        }
        wakeAt = wakeAt is null || availableAt < wakeAt ? availableAt : wakeAt;
        return false;
    }

    /// <summary>Kubernetes' order: not-ready before ready, then the youngest first.</summary>
    private static IEnumerable<InstanceStatus> ScaleDownOrder(IEnumerable<InstanceStatus> instances) =>
        instances.OrderBy(i => i.InRotation).ThenByDescending(i => i.StartedAt).ThenBy(i => i.Id, StringComparer.Ordinal);

    private static bool StableRun(InstanceStatus instance, DateTimeOffset now) =>
        instance.WasReady && instance.ReadySince is { } since && now - since >= ServiceHealth.StableRun;
}
