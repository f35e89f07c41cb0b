namespace Flotilla.Runtime.Swarm;

/// <summary>
/// Keeps Flotilla's instances bound to Swarm's slots, as a pure function of the bindings and the
/// tasks the manager reports. Swarm, not Flotilla, chooses which slot goes when a service is scaled
/// down; Flotilla chose (and drained) an instance. When the two differ the bindings swap: the
/// instance Flotilla drained takes the slot Swarm is shutting down, and the one that was there takes
/// the drained instance's slot, whose task keeps running. The slot Swarm shuts down runs its task on
/// for a stop delay (see <see cref="SwarmServiceSpecs"/>), long enough for the router to take it out
/// of rotation first.
/// </summary>
internal static class SlotBindings
{
    public static IReadOnlyList<SlotBinding> Rebind(IReadOnlyList<SlotBinding> bindings, IReadOnlyList<SwarmTask> tasks, DateTimeOffset now)
    {
        var result = bindings.ToList();
        var revisions = tasks.Select(t => (t.Service, t.Revision)).Concat(bindings.Select(b => (b.Service, b.Revision))).Distinct();
        foreach (var (service, revision) in revisions.ToList())
        {
            Rebind(result, service, revision, tasks.Where(t => t.Service == service && t.Revision == revision).ToList(), now);
        }
        return result;
    }

    private static void Rebind(List<SlotBinding> bindings, string service, string revision, List<SwarmTask> tasks, DateTimeOffset now)
    {
        var wanted = tasks.Where(t => t.Wanted).Select(t => t.Slot).ToHashSet();
        var known = tasks.Select(t => t.Slot).ToHashSet();
        int Index(SlotBinding b) => bindings.IndexOf(b);
        var mine = bindings.Where(b => b.Service == service && b.Revision == revision && !b.Gone).ToList();

        // A slot Swarm shuts down that holds an instance Flotilla did not ask to stop: swap with one it did ask to stop.
        foreach (var taken in mine.Where(b => b.Slot is { } s && !wanted.Contains(s) && !b.Leaving).ToList())
        {
            var asked = mine.FirstOrDefault(b => b.Leaving && b.Slot is { } s && wanted.Contains(s))
                ?? mine.FirstOrDefault(b => b.Leaving && b.Slot is null);
            if (asked is null)
            {
                continue;
            }
            var swappedIn = taken with { Slot = asked.Slot };
            var swappedOut = asked with { Slot = taken.Slot };
            bindings[Index(taken)] = swappedIn;
            bindings[Index(asked)] = swappedOut;
            mine[mine.IndexOf(taken)] = swappedIn;
            mine[mine.IndexOf(asked)] = swappedOut;
        }

        // Slots no instance holds yet: to instances waiting for their slot, oldest first; else a new instance (adopted, or made by Swarm).
        var held = mine.Where(b => b.Slot is not null).Select(b => b.Slot!.Value).ToHashSet();
        foreach (var slot in wanted.Where(s => !held.Contains(s)).Order())
        {
            var waiting = mine.Where(b => b.Slot is null && !b.Leaving).OrderBy(b => b.StartedAt).FirstOrDefault();
            if (waiting is not null)
            {
                bindings[Index(waiting)] = waiting with { Slot = slot };
                mine[mine.IndexOf(waiting)] = waiting with { Slot = slot };
            }
            else
            {
                var adopted = new SlotBinding(InstanceId(service, revision, slot), service, revision, slot, false, now);
                bindings.Add(adopted);
                mine.Add(adopted);
            }
        }

        // An instance whose slot Swarm no longer has (scaled away, the service removed) is gone once its task has ended.
        foreach (var binding in mine.Where(b => b.Slot is { } s && !wanted.Contains(s)))
        {
            var ended = tasks.Where(t => t.Slot == binding.Slot).All(t => t.Ended) || !known.Contains(binding.Slot!.Value);
            if (ended)
            {
                bindings[Index(binding)] = binding with { Gone = true };
            }
        }
    }

    /// <summary>The name of an instance Flotilla did not start itself (found after a restart, or a slot Swarm added).</summary>
    public static string InstanceId(string service, string revision, int slot) => $"{service}-{revision[..Math.Min(5, revision.Length)]}-s{slot}";
}
