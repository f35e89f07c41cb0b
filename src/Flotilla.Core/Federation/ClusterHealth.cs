namespace Flotilla.Federation;

/// <summary>How a cluster runs the revision it last accepted.</summary>
public enum ClusterHealth
{
    /// <summary>It has accepted no revision yet.</summary>
    Unknown,

    /// <summary>Its release is under way (instances starting, a rollout or a canary moving).</summary>
    Progressing,

    /// <summary>Every service runs the accepted revision, ready, at its count.</summary>
    Healthy,

    /// <summary>The release failed: refused, rolled back, aborted, or not ready within the deadline.</summary>
    Failed,
}
