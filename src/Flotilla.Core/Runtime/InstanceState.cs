namespace Flotilla.Runtime;

/// <summary>The life of an instance as the runtime observes it.</summary>
public enum InstanceState
{
    /// <summary>Running, not yet ready: receives no traffic.</summary>
    Starting,
    /// <summary>Passed its readiness probe: in rotation.</summary>
    Ready,
    /// <summary>Was ready, now fails readiness: out of rotation, left running to recover.</summary>
    Unready,
    /// <summary>Failed liveness or never became ready in time: to be replaced.</summary>
    Unhealthy,
    /// <summary>Leaving: drained, then SIGTERM, then SIGKILL after the grace period.</summary>
    Stopping,
    /// <summary>The process is gone.</summary>
    Exited,
}
