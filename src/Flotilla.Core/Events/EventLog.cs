namespace Flotilla.Events;

/// <summary>
/// The recent events of a system, bounded in memory (oldest dropped first). Readers ask for
/// what came after the last sequence number they saw.
/// </summary>
public sealed class EventLog(TimeProvider time, int capacity = 1000)
{
    private readonly Lock _gate = new();
    private readonly Queue<SystemEvent> _events = new();
    private long _sequence;

    public void Record(string subject, string message, bool warning = false)
    {
        lock (_gate)
        {
            _events.Enqueue(new SystemEvent(++_sequence, time.GetUtcNow(), subject, message, warning));
            while (_events.Count > capacity)
            {
                _events.Dequeue();
            }
        }
    }

    public IReadOnlyList<SystemEvent> Since(long sequence)
    {
        lock (_gate)
        {
            return _events.Where(e => e.Sequence > sequence).ToList();
        }
    }
}
