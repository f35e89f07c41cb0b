namespace Flotilla.Runtime.Kubernetes;

/// <summary>
/// How far a pod's log has been copied: the Kubernetes timestamp of the last line copied (the node's
/// clock, as the kubelet stamps it) and how many lines carrying that very timestamp were copied (a burst,
/// or a coarse clock, gives several lines one stamp). Comparing stamps with stamps, never with this
/// machine's clock, makes resuming exact whatever the node's clock says.
/// </summary>
internal readonly record struct PodLogPosition(DateTimeOffset At, int Count)
{
    /// <summary>
    /// Where a resumed follow starts: <c>sinceTime</c> in whole seconds (the API server keeps no finer),
    /// rounded down, so the server sends a little more and <see cref="PodLogCursor"/> skips what was copied.
    /// </summary>
    public DateTimeOffset SinceTime => new(At.UtcDateTime.Ticks - At.UtcDateTime.Ticks % TimeSpan.TicksPerSecond, TimeSpan.Zero);
}
