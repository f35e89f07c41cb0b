namespace Flotilla.Databases.Engines;

/// <summary>What the engine controller does about one member in a pass (see <see cref="EnginePlanner"/>).</summary>
public sealed record EngineAction(EngineMember Member, EngineActionKind Kind, string Reason);

public enum EngineActionKind
{
    /// <summary>Create the cluster: initdb for a primary, pg_basebackup from the primary for a replica.</summary>
    Initialize,
    Start,
    /// <summary>A replica that keeps dying: its directory is deleted and taken again from the primary.</summary>
    Rebuild,
}
