namespace Flotilla.Federation;

/// <summary>The planner's decision for one cluster, with the reason in words for status and events.</summary>
public sealed record ClusterStep(string Cluster, ClusterAction Action, string Reason);
