namespace Flotilla.Federation;

/// <summary>What a federated apply recorded: the federation's revision (or the same one, unchanged), and what happens next per cluster.</summary>
public sealed record FederationApplyResult(long Revision, bool Unchanged, string Summary);
