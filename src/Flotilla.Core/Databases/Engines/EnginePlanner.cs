namespace Flotilla.Databases.Engines;

/// <summary>
/// Decides, with no I/O, what the engine controller does next for each member: create what has
/// no cluster yet (a replica only once its primary accepts connections), start what is not
/// running (the first restart at once, then with a doubling back-off), and rebuild a replica that
/// died <see cref="RebuildAfter"/> times in a row. A converged engine gives an empty plan.
/// </summary>
public static class EnginePlanner
{
    public const int RebuildAfter = 3;
    public static readonly TimeSpan MaxBackoff = TimeSpan.FromSeconds(30);

    public static IReadOnlyList<EngineAction> Plan(IReadOnlyList<EngineMember> desired, IReadOnlyDictionary<EngineMember, MemberObservation> observed, DateTimeOffset now)
    {
        var actions = new List<EngineAction>();
        foreach (var member in desired)
        {
            var seen = observed.GetValueOrDefault(member) ?? MemberObservation.Absent;
            if (seen.Pid is not null)
            {
                continue;
            }
            if (!member.IsPrimary)
            {
                var primary = desired.FirstOrDefault(m => m.Engine == member.Engine && m.IsPrimary);
                if (primary is null || observed.GetValueOrDefault(primary)?.Ready != true)
                {
                    continue; // a replica is taken from (and streams from) a primary that answers
                }
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
        return actions;
    }

    /// <summary>0 after the first failure, then 1 s, 2 s, 4 s... up to <see cref="MaxBackoff"/>.</summary>
    public static TimeSpan Backoff(int failures) =>
        failures <= 1 ? TimeSpan.Zero : TimeSpan.FromSeconds(Math.Min(MaxBackoff.TotalSeconds, Math.Pow(2, failures - 2)));
}
