namespace Flotilla.Events;

/// <summary>Something the control plane did or saw, numbered in order of recording.</summary>
public sealed record SystemEvent(long Sequence, DateTimeOffset At, string Subject, string Message, bool Warning);
