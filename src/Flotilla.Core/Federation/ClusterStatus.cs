using Flotilla.Conditions;

namespace Flotilla.Federation;

/// <summary>
/// One cluster as <c>flotilla clusters</c> shows it: its target, the federation revision it runs
/// (and its own revision number for it), whether it answers, how its release goes, what the
/// federation does next about it and why, its services' counts, and typed conditions.
/// </summary>
public sealed record ClusterStatus(
    string Name,
    string Kind,
    string? Endpoint,
    long Revision,
    long ClusterRevision,
    bool? Reachable,
    string Health,
    string Next,
    string Reason,
    int Desired,
    int Ready,
    IReadOnlyList<ClusterServiceStatus> Services,
    IReadOnlyList<Condition> Conditions,
    string DataDirectory);
