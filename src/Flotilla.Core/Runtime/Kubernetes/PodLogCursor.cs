namespace Flotilla.Runtime.Kubernetes;

/// <summary>
/// Decides, line by line, which lines of a pod's log stream to copy, as a pure state machine: a stream
/// resumed from a <see cref="PodLogPosition"/> brings lines again from the start of that position's
/// second; those stamped before the position, and the first <see cref="PodLogPosition.Count"/> stamped
/// at it, were copied already and are skipped; every later line is copied and moves the position. Lines
/// of a pod's log come in the order the kubelet wrote them, with stamps that do not go back.
/// </summary>
internal sealed class PodLogCursor(PodLogPosition? from)
{
    private int _seenAtPosition;

    /// <summary>The position after the last line copied, or null before any.</summary>
    public PodLogPosition? Position { get; private set; } = from;

    /// <summary>A new stream begins (resumed from <see cref="Position"/>): the lines at its stamp are counted again.</summary>
    public void Resume() => _seenAtPosition = 0;

    /// <summary>Back to <paramref name="position"/>: the lines taken since were not written (the next stream brings them again).</summary>
    public void Rewind(PodLogPosition? position) => Position = position;

    /// <summary>Whether the line stamped <paramref name="at"/> is to be copied (the position moves past it if so). A line without a stamp is copied and moves nothing.</summary>
    public bool Take(DateTimeOffset? at)
    {
        if (at is not { } stamp)
        {
            return true;
        }
        if (Position is { } copied)
        {
            if (stamp < copied.At)
            {
                return false;
            }
            if (stamp == copied.At)
            {
                if (++_seenAtPosition <= copied.Count)
                {
                    return false;
                }
                Position = copied with { Count = _seenAtPosition };
                return true;
            }
        }
        Position = new PodLogPosition(stamp, 1);
        _seenAtPosition = 1;
        return true;
    }
}
