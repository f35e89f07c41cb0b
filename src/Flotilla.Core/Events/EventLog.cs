namespace Flotilla.Events;

/// <summary>
/// The events of a system: the recent ones in memory (oldest dropped first) for fast readers,
/// and every one handed to <c>persist</c> (the store) as it is recorded. Readers ask for what
/// came after the last sequence number they saw; numbering goes on across restarts.
/// </summary>
public sealed class EventLog
{
    private readonly Lock _gate = new();
    private readonly Queue<SystemEvent> _events;
    private readonly TimeProvider _time;
    private readonly int _capacity;
    private readonly Action<SystemEvent>? _persist;
    private long _sequence;

    public EventLog(TimeProvider time, int capacity = 1000, Action<SystemEvent>? persist = null, IReadOnlyList<SystemEvent>? recent = null)
    {
        _time = time;
        _capacity = capacity;
        _persist = persist;
        _events = new Queue<SystemEvent>(recent ?? []);
        _sequence = recent is { Count: > 0 } ? recent[^1].Sequence : 0;
    }

    /// <summary>Completes (and is replaced) whenever an event is recorded, for followers.</summary>
    public Task Recorded => Volatile.Read(ref _recorded).Task;

    private TaskCompletionSource _recorded = new(TaskCreationOptions.RunContinuationsAsynchronously);

    public long LastSequence
    {
        get
        {
            lock (_gate)
            {
                return _sequence;
            }
        }
    }

    public void Record(string subject, string message, bool warning = false)
    {
        TaskCompletionSource recorded;
        lock (_gate)
        {
            var e = new SystemEvent(++_sequence, _time.GetUtcNow(), subject, message, warning);
            _persist?.Invoke(e);
            _events.Enqueue(e);
            while (_events.Count > _capacity)
            {
                _events.Dequeue();
            }
            recorded = Interlocked.Exchange(ref _recorded, new TaskCompletionSource(TaskCreationOptions.RunContinuationsAsynchronously));
        }
        recorded.TrySetResult();
    }

    public IReadOnlyList<SystemEvent> Since(long sequence)
    {
        lock (_gate)
        {
            return _events.Where(e => e.Sequence > sequence).ToList();
        }
    }
}
