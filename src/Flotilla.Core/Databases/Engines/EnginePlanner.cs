namespace Flotilla.Databases.Engines;

/// <summary>
/// Decides, with no I/O, what the engine controller does next for each member: create what has
/// no cluster yet (a replica only once its primary accepts connections), start what is not
/// running (the first restart at once, then with a doubling back-off), rebuild a replica that
/// died <see cref="RebuildAfter"/> times in a row, and fail over (see <see cref="FailoverReason"/>):
/// promote the replica that received the most WAL, fence a former primary that still runs as one,
/// rebuild it as a replica of the new primary, and point the other replicas at it. A converged
/// engine gives an empty plan.
/// </summary>
public static class EnginePlanner
{
    public const int RebuildAfter = 3;
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    /// <summary>A primary that runs but does not answer is given at least this long (a slow start, a busy machine) before it is replaced.</summary>
    public static readonly TimeSpan HungAfter = TimeSpan.FromSeconds(10);

    /// <param name="failoverAfter">Per engine: how long its primary may be down before a replica is promoted (absent: <see cref="Model.EngineSpec.DefaultFailoverAfter"/>).</param>
    public static IReadOnlyList<EngineAction> Plan(IReadOnlyList<EngineMember> desired, IReadOnlyDictionary<EngineMember, MemberObservation> observed, DateTimeOffset now,
        IReadOnlyDictionary<string, TimeSpan>? failoverAfter = null)
    {
        var actions = new List<EngineAction>();
        foreach (var engine in desired.GroupBy(m => m.Engine, StringComparer.Ordinal))
        {
            var members = engine.ToList();
            var after = failoverAfter?.GetValueOrDefault(engine.Key, Model.EngineSpec.DefaultFailoverAfter) ?? Model.EngineSpec.DefaultFailoverAfter;
            PlanEngine(members, m => observed.GetValueOrDefault(m) ?? MemberObservation.Absent, now, after, actions);
        }
        return actions;
    }

    private static void PlanEngine(List<EngineMember> members, Func<EngineMember, MemberObservation> seenOf, DateTimeOffset now, TimeSpan after, List<EngineAction> actions)
    {
        var primary = members.FirstOrDefault(m => m.IsPrimary);
        var primarySeen = primary is null ? MemberObservation.Absent : seenOf(primary);
        // The primary answers and has finished recovery: replicas may be copied from it and follow it.
        var primaryServes = primarySeen.Ready && primarySeen.InRecovery != true;
        if (primary is not null && primarySeen.Ready && primarySeen.InRecovery == true)
        {
            actions.Add(new EngineAction(primary, EngineActionKind.Promote, "it was chosen as the primary: finishing its promotion"));
        }
        else if (primary is not null && !primarySeen.Ready && FailoverReason(primarySeen, now, after, members.Any(m => !m.IsPrimary && seenOf(m).Initialized)) is { } reason
            && members.Where(m => !m.IsPrimary && seenOf(m) is { Ready: true, InRecovery: true })
                .OrderByDescending(m => seenOf(m).ReceivedLsn ?? -1).ThenBy(m => m.Role, StringComparer.Ordinal).FirstOrDefault() is { } candidate)
        {
            actions.Add(new EngineAction(candidate, EngineActionKind.Promote, $"{primary} {reason}"));
            return; // the rest follows once the topology has changed
        }
        foreach (var member in members)
        {
            var seen = seenOf(member);
            if (!member.IsPrimary && seen.Initialized && !seen.Standby)
            {
                // A former primary: it must never take writes again. Killed if it runs, then copied again from the new primary.
                if (seen.Pid is not null)
                {
                    actions.Add(new EngineAction(member, EngineActionKind.Fence, "it runs as a primary but is not the primary any more"));
                }
                else if (primaryServes)
                {
                    actions.Add(new EngineAction(member, EngineActionKind.Rebuild, "it was the primary before a failover"));
                }
                continue;
            }
            if (!member.IsPrimary && seen.Standby && primaryServes && seen.UpstreamPort is { } upstream && upstream != primary!.Port)
            {
                actions.Add(new EngineAction(member, EngineActionKind.Follow, $"it streams from port {upstream}, the primary is on port {primary.Port}"));
            }
            if (seen.Pid is not null)
            {
                continue;
            }
            if (!member.IsPrimary && !primaryServes && !(seen.Standby && seen.Failures < RebuildAfter))
            {
                // A replica is taken from a primary that answers. A standby that exists is started anyway:
                // it waits in recovery for its primary, and it may be the one to promote.
                continue;
            }
            if (member.IsPrimary && !seen.Initialized && members.Any(m => !m.IsPrimary && seenOf(m).Initialized))
            {
                continue; // never an empty new primary beside replicas that hold the data: wait for one to be promoted
            }
            if (seen.Failures > 0 && seen.LastFailure is { } last && now < last + Backoff(seen.Failures))
            {
                continue;
            }
            if (!seen.Initialized)
            {
                actions.Add(new EngineAction(member, EngineActionKind.Initialize, member.IsPrimary ? "no cluster yet" : "no copy of the primary yet"));
            }
            else if (!member.IsPrimary && seen.Failures >= RebuildAfter)
            {
                actions.Add(new EngineAction(member, EngineActionKind.Rebuild, $"died {seen.Failures} times in a row"));
            }
            else
            {
                actions.Add(new EngineAction(member, EngineActionKind.Start, seen.Failures == 0 ? "not running" : $"not running (failure {seen.Failures})"));
            }
        }
    }

    /// <summary>
    /// Why a primary that does not answer is replaced rather than restarted in place, or null: its
    /// data directory is gone (and a replica holds the data), it is dead and has been down for
    /// <paramref name="after"/> (0: at once; a restart in place that fails or keeps dying keeps it
    /// down), or it runs without answering
    /// for <paramref name="after"/> and at least <see cref="HungAfter"/>.
    /// </summary>
    public static string? FailoverReason(MemberObservation primary, DateTimeOffset now, TimeSpan after, bool replicaHasData)
    {
        if (!replicaHasData || primary.Ready)
        {
            return null;
        }
        var down = primary.DownSince is { } since ? now - since : TimeSpan.Zero;
        if (!primary.Initialized && primary.Pid is null)
        {
            return "lost its data directory";
        }
        if (primary.Pid is null && primary.DownSince is not null && down >= after)
        {
            return after == TimeSpan.Zero ? "died" : $"has been down for {down.TotalSeconds:0.#} s (failover: {after.TotalSeconds:0.#}s)";
        }
        if (primary.Pid is not null && primary.DownSince is not null && down >= after && down >= HungAfter)
        {
            return $"runs but has not accepted connections for {down.TotalSeconds:0.#} s";
        }
        return null;
    }

    /// <summary>0 after the first failure, then 1 s, 2 s, 4 s... up to <see cref="MaxBackoff"/>.</summary>
    public static TimeSpan Backoff(int failures) =>
        failures <= 1 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, failures - 2)));
}
