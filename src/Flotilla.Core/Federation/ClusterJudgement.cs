using Flotilla.Hosting;

namespace Flotilla.Federation;

/// <summary>
/// Whether a cluster's release of what it accepted at <c>appliedAt</c> is done, under way or failed,
/// read from its control plane the way <c>flotilla rollout status</c> reads it: failed when a
/// rollout rolled back or a release was aborted since, or when it is still not ready at the deadline.
/// </summary>
internal static class ClusterJudgement
{
    public static (ClusterHealth Health, string? Detail) Of(ControlPlane plane, DateTimeOffset appliedAt, TimeSpan deadline, DateTimeOffset now)
    {
        var waiting = new List<string>();
        foreach (var service in plane.State.Services)
        {
            var rollout = plane.Rollout(service.Name);
            if (rollout.Last is { State: "rolled back" } last && last.At >= appliedAt)
            {
                return (ClusterHealth.Failed, $"service '{service.Name}' rolled back to {last.RolledBackTo}: {last.Reason}");
            }
            if (rollout.State == "degraded")
            {
                return (ClusterHealth.Failed, $"service '{service.Name}': its release was aborted ({string.Join("; ", rollout.Conditions.Select(c => c.Message))})");
            }
            if (rollout.State != "complete" && !(rollout.Desired == 0 && rollout.Current == 0))
            {
                waiting.Add($"{service.Name} {rollout.CurrentReady}/{rollout.Desired} ready ({rollout.State}{(rollout.Waiting is { } w ? $": {w}" : "")})");
            }
        }
        // Counts, not the services' problem notes: a note of an earlier crash loop (the revision rolled back from) outlives it.
        var status = plane.Status();
        var shortOf = status.Services.Where(s => s.Ready < s.Desired).ToList();
        if (waiting.Count == 0 && shortOf.Count == 0)
        {
            return (ClusterHealth.Healthy, null);
        }
        waiting.AddRange(shortOf.Where(s => waiting.All(w => !w.StartsWith(s.Name + " ", StringComparison.Ordinal)))
            .Select(s => $"{s.Name} {s.Ready}/{s.Desired} ready{(s.Problem is { } p ? $": {p}" : "")}"));
        var detail = string.Join("; ", waiting);
        return now - appliedAt > deadline
            ? (ClusterHealth.Failed, $"not ready within the deadline of {deadline.TotalMinutes:0.#} min: {detail}")
            : (ClusterHealth.Progressing, detail);
    }
}
