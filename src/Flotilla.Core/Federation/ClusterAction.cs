namespace Flotilla.Federation;

/// <summary>What the federation does next about one cluster.</summary>
public enum ClusterAction
{
    /// <summary>Nothing: it runs the desired revision (or failed it: a new apply tries again).</summary>
    None,

    /// <summary>Hand it the desired revision now.</summary>
    Apply,

    /// <summary>An apply is under way.</summary>
    Applying,

    /// <summary>It could not be reached: the next try waits for its back-off.</summary>
    Wait,

    /// <summary>An ordered release: it waits for the clusters before it to run the revision ready.</summary>
    Hold,

    /// <summary>An ordered release: a cluster before it failed the revision, so it does not get it.</summary>
    Halted,
}
