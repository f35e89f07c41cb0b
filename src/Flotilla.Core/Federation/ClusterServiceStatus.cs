namespace Flotilla.Federation;

/// <summary>One service of one cluster: counts, the revision it runs and its endpoint there.</summary>
public sealed record ClusterServiceStatus(string Name, int Desired, int Ready, string? Revision, string? Endpoint);
