using System.Text.Json;
using Flotilla.Runtime;
using Flotilla.Store;

namespace Flotilla.Hosting;

/// <summary>Records each instance in the store the moment its pid is known, with all a successor needs to adopt it.</summary>
internal sealed class StoreJournal(StateStore store) : IInstanceJournal
{
    internal static readonly JsonSerializerOptions Json = new(JsonSerializerDefaults.Web);

    public void Started(InstanceLaunch launch, int pid, long? processStartTime, DateTimeOffset startedAt) =>
        store.SaveInstance(new InstanceRecord(launch.Id, launch.Service, launch.Revision, pid, processStartTime, launch.Port, launch.Zone, startedAt,
            JsonSerializer.Serialize(launch, Json)));

    public void Ended(string instanceId) => store.RemoveInstance(instanceId);

    public static InstanceLaunch? Launch(InstanceRecord record)
    {
        try
        {
            return JsonSerializer.Deserialize<InstanceLaunch>(record.LaunchJson, Json);
        }
        catch (JsonException)
        {
            return null;
        }
    }
}
