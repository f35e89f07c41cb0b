namespace Flotilla.Runtime;

/// <summary>
/// Where a driver records the instances it runs, so a restarted control plane can adopt them.
/// <see cref="Started"/> is called as soon as the pid is known, before anything else happens to it.
/// </summary>
public interface IInstanceJournal
{
    void Started(InstanceLaunch launch, int pid, long? processStartTime, DateTimeOffset startedAt);

    void Ended(string instanceId);
}

/// <summary>For a driver whose instances need not outlive it (tests, benchmarks).</summary>
public sealed class NoJournal : IInstanceJournal
{
    public static NoJournal Instance { get; } = new();

    public void Started(InstanceLaunch launch, int pid, long? processStartTime, DateTimeOffset startedAt)
    {
    }

    public void Ended(string instanceId)
    {
    }
}
