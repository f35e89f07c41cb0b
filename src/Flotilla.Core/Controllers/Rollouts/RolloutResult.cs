namespace Flotilla.Controllers.Rollouts;

/// <summary>How a rollout ended: complete, or rolled back (from the revision it went back to, to the one that failed, and why).</summary>
public sealed record RolloutResult(string State, string? RolledBackTo, string Revision, string? Reason, DateTimeOffset At);
