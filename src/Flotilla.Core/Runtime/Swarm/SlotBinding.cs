namespace Flotilla.Runtime.Swarm;

/// <summary>
/// An instance as Flotilla names it, bound to one slot of its revision's Swarm service. Swarm keeps
/// a slot filled (a task that dies is replaced in the same slot, on another node if its node is
/// lost), so the instance lives as long as the slot. <see cref="Slot"/> is null until Swarm has made
/// the slot an instance was started for. <see cref="Leaving"/>: Flotilla asked for it to go.
/// </summary>
internal sealed record SlotBinding(string InstanceId, string Service, string Revision, int? Slot, bool Leaving, DateTimeOffset StartedAt, string? StopReason = null)
{
    public bool Gone { get; init; }
}
