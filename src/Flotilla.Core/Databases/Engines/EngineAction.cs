namespace Flotilla.Databases.Engines;

/// <summary>What the engine controller does about one member in a pass (see <see cref="EnginePlanner"/>).</summary>
public sealed record EngineAction(EngineMember Member, EngineActionKind Kind, string Reason);

public enum EngineActionKind
{
    /// <summary>Create the cluster: initdb for a primary, pg_basebackup from the primary for a replica.</summary>
    Initialize,
    Start,
    /// <summary>A replica that keeps dying, or a former primary: its directory is deleted and taken again from the primary.</summary>
    Rebuild,
    /// <summary>The primary is gone: this replica becomes the primary (the old one is fenced first), or finishes becoming it.</summary>
    Promote,
    /// <summary>A member that is not the primary runs as one (a former primary): killed, never allowed to take writes.</summary>
    Fence,
    /// <summary>A replica streams from a port that is not the primary's any more: pointed at the new primary.</summary>
    Follow,
}
