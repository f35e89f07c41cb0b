namespace Flotilla.Controllers.Queues;

/// <summary>A message pushed to a queue that no declared function is triggered by.</summary>
public sealed class UnknownQueueException(string queue, IReadOnlyList<string> known)
    : Exception($"no function is triggered by queue '{queue}' ({(known.Count == 0 ? "no function reads a queue" : "queues: " + string.Join(", ", known))}); declare one with 'trigger: {{ queue: {queue} }}'")
{
    public string Queue { get; } = queue;
}
