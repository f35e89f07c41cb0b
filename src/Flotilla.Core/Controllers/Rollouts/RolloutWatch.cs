using Flotilla.Controllers.InstanceSets;
using Flotilla.Events;
using Flotilla.Runtime;
using Flotilla.Store;

namespace Flotilla.Controllers.Rollouts;

/// <summary>
/// The watch of rolling updates: progress is the number of new instances available growing; a
/// rollout that makes none within its progressDeadline is rolled back to the revision its old
/// instances run, as a new system revision, and why is said (the last failure, or a stuck instance
/// with its last log lines). Canary, blue-green and parallel releases are not watched here.
/// </summary>
/// <remarks>
/// It reads the instance-set controller's desired services and health; it finds an earlier
/// revision of a service, makes the rollback revision and records a rollout's result through the
/// delegates the control plane passes in.
/// </remarks>
internal sealed class RolloutWatch(
    InstanceSetController controller,
    Func<string, string, DesiredService?> findServiceRevision,
    Func<string, DesiredService, string, string, Task<RevisionRecord>> replaceService,
    Action<string, RolloutResult> recordResult,
    EventLog events,
    TimeProvider time)
{
    private readonly Dictionary<string, RolloutProgress> _rollouts = new(StringComparer.Ordinal);

    /// <summary>Where a rollout got to: the target, the most new instances seen available, and when that last grew.</summary>
    private sealed record RolloutProgress(string Target, int Best, DateTimeOffset LastProgressAt);

    /// <summary>
    /// One look at every service's rollout (run every 250 ms): progress is the number of new
    /// instances available growing; no progress for the service's progressDeadline (paused time
    /// does not count) rolls it back to the revision its old instances run.
    /// </summary>
    public async Task WatchAsync(IReadOnlyList<InstanceStatus> observed)
    {
        var now = time.GetUtcNow();
        var byService = observed.ToLookup(i => i.Service, StringComparer.Ordinal);
        // Canary, blue-green and parallel releases have their own watch (ReleaseController, driven by the control plane's release watch).
        foreach (var service in controller.Desired.Where(d => d.Stable is null))
        {
            var live = byService[service.Name].Where(i => i.IsLive).ToList();
            var old = live.Where(i => i.Revision != service.Revision).ToList();
            var available = live.Count(i => i.Revision == service.Revision && i.InRotation);
            _rollouts.TryGetValue(service.Name, out var progress);
            if (old.Count == 0)
            {
                if (progress is not null && available >= service.Instances)
                {
                    _rollouts.Remove(service.Name);
                    events.Record(service.Name, $"rollout to revision {service.Revision} complete: {available} of {service.Instances} instances ready");
                    recordResult(service.Name, new RolloutResult("complete", null, service.Revision, null, now));
                }
                continue;
            }
            if (progress is null || progress.Target != service.Revision)
            {
                _rollouts[service.Name] = new RolloutProgress(service.Revision, available, now);
                continue;
            }
            if (available > progress.Best || service.Paused)
            {
                _rollouts[service.Name] = progress with { Best = Math.Max(available, progress.Best), LastProgressAt = now };
                continue;
            }
            var deadline = service.RolloutOrDefault.ProgressDeadline;
            if (now - progress.LastProgressAt > deadline)
            {
                await RollBackAsync(service, old, deadline, observed);
            }
        }
    }

    private async Task RollBackAsync(DesiredService service, IReadOnlyList<InstanceStatus> old, TimeSpan deadline, IReadOnlyList<InstanceStatus> observed)
    {
        _rollouts.Remove(service.Name);
        var from = old.GroupBy(i => i.Revision).MaxBy(g => g.Count())!.Key;
        var earlier = findServiceRevision(service.Name, from);
        var why = WhyNotReady(service, observed);
        var stalled = $"rollout of {service.Name} to revision {service.Revision} made no progress in {Model.Quantities.Format(deadline)}: {why}";
        if (earlier is null)
        {
            events.Record(service.Name, $"{stalled}; cannot roll back: revision {from} is no longer in the history", warning: true);
            return;
        }
        try
        {
            var record = await replaceService(service.Name, earlier, "flotilla (progress deadline)", $"rollback {service.Name} {Short(service.Revision)}→{Short(from)}: {why}");
            // The event first: whoever sees the result (rollout status) must find the event that explains it.
            events.Record(service.Name, $"{stalled}; rolled back to revision {from} (system revision {record.Number})", warning: true);
            recordResult(service.Name, new RolloutResult("rolled back", from, service.Revision, why, time.GetUtcNow()));
        }
        catch (StaleRevisionException)
        {
            // Someone applied meanwhile: their revision wins, and the watch starts over on it.
        }
    }

    /// <summary>Why the new revision is not ready: the service's last failure (with its log lines), or an instance's state.</summary>
    private string WhyNotReady(DesiredService service, IReadOnlyList<InstanceStatus> observed)
    {
        var health = controller.Health.GetValueOrDefault(service.Name);
        if (health is { ConsecutiveFailures: > 0, LastFailure: { } failure })
        {
            return $"{health.ConsecutiveFailures} failure(s) in a row, last: {failure}";
        }
        var stuck = observed.FirstOrDefault(i => i.Service == service.Name && i.Revision == service.Revision && !i.InRotation);
        if (stuck is null)
        {
            return "no new instance became ready";
        }
        var probe = stuck.Reason ?? $"readiness probe {service.Http.Ready ?? service.Http.Health ?? "tcp"} not passing";
        var tail = LogTail.ProgramLines(stuck.LogPath);
        return $"{stuck.Id} is {stuck.State} ({probe}){(tail.Length == 0 ? "" : $"; last log lines: {tail}")}";
    }

    private static string Short(string revision) => revision[..Math.Min(7, revision.Length)];
}
