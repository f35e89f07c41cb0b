namespace Flotilla.Runtime.Kubernetes;

/// <summary>
/// Decides, line by line, which lines of a pod's log stream to copy, as a pure state machine. A stream
/// resumed from a <see cref="PodLogPosition"/> brings lines again from the start of that position's
/// second: while it replays them, those stamped before the position, and the first
/// <see cref="PodLogPosition.Count"/> stamped at it, were copied already and are skipped. Once past that
/// point every line is copied, whatever its stamp: a node's stamps can go back a little (containerd stamps
/// stdout and stderr lines before one shared write; an NTP step), and such a line is new, not a repeat.
/// The position only moves forward, so after a resume a line stamped back may come twice; none is lost.
/// </summary>
internal sealed class PodLogCursor(PodLogPosition? from)
{
    private int _seenAtPosition;
    private bool _replaying = from is not null;

    /// <summary>The latest stamp copied and how many lines carried it, or null before any.</summary>
    public PodLogPosition? Position { get; private set; } = from;

    /// <summary>A new stream begins (resumed from <see cref="Position"/>): it replays what was copied, and the lines at its stamp are counted again.</summary>
    public void Resume()
    {
        _seenAtPosition = 0;
        _replaying = Position is not null;
    }

    /// <summary>Back to <paramref name="position"/>: the lines taken since were not written (the next stream brings them again).</summary>
    public void Rewind(PodLogPosition? position) => Position = position;

    /// <summary>Whether the line stamped <paramref name="at"/> is to be copied (the position moves past it if so). A line without a stamp is copied and moves nothing.</summary>
    public bool Take(DateTimeOffset? at)
    {
        if (at is not { } stamp)
        {
            return true;
        }
        if (_replaying && Position is { } copied)
        {
            if (stamp < copied.At)
            {
                return false;
            }
            if (stamp == copied.At && ++_seenAtPosition <= copied.Count)
            {
                // The last line copied at that stamp: what follows is new.
                _replaying = _seenAtPosition < copied.Count;
                return false;
            }
            _replaying = false;
        }
        if (Position is not { } last || stamp > last.At)
        {
            Position = new PodLogPosition(stamp, 1);
        }
        else if (stamp == last.At)
        {
            Position = last with { Count = last.Count + 1 };
        }
        return true;
    }
}
