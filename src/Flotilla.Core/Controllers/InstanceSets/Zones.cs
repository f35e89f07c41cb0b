using Flotilla.Runtime;

namespace Flotilla.Controllers.InstanceSets;

/// <summary>
/// Spreading one service's instances evenly over failure domains (seed 8.1.1): start in the
/// emptiest zone, scale down from the fullest, and re-spread when the counts differ by more
/// than one (after a zone comes back). The same logic serves every runtime; on one machine a
/// zone is a label.
/// </summary>
internal static class Zones
{
    public static Dictionary<string, int> Counts(IReadOnlyList<string> zones, IEnumerable<InstanceStatus> instances)
    {
        var counts = zones.ToDictionary(z => z, _ => 0, StringComparer.Ordinal);
        foreach (var instance in instances)
        {
            if (instance.Zone is { } zone && counts.ContainsKey(zone))
            {
                counts[zone]++;
            }
        }
        return counts;
    }

    /// <summary>The zone with the fewest instances (first declared wins a tie), counting it as taken; null without zones.</summary>
    public static string? Emptiest(IReadOnlyList<string> zones, Dictionary<string, int> counts)
    {
        if (zones.Count == 0)
        {
            return null;
        }
        var zone = zones.MinBy(z => counts[z])!;
        counts[zone]++;
        return zone;
    }

    public static bool NeedsRebalance(IReadOnlyList<string> zones, IReadOnlyList<InstanceStatus> instances)
    {
        if (zones.Count < 2)
        {
            return false;
        }
        var counts = Counts(zones, instances);
        return counts.Values.Max() - counts.Values.Min() > 1;
    }

    /// <summary>Which instances to stop first: from the fullest zone, and within it in <paramref name="order"/>.</summary>
    public static IEnumerable<InstanceStatus> ScaleDownOrder(IReadOnlyList<string> zones, IReadOnlyList<InstanceStatus> instances, Func<IEnumerable<InstanceStatus>, IEnumerable<InstanceStatus>> order)
    {
        if (zones.Count == 0)
        {
            foreach (var instance in order(instances))
            {
                yield return instance;
            }
            yield break;
        }
        var remaining = instances.ToList();
        while (remaining.Count > 0)
        {
            var counts = Counts(zones, remaining);
            var fullest = zones.MaxBy(z => counts[z])!;
            var next = order(remaining.Where(i => i.Zone == fullest)).First();
            remaining.Remove(next);
            yield return next;
        }
    }
}
