using System.Globalization;

namespace Flotilla.Runtime;

/// <summary>
/// A pid file per running instance (<c>instances/&lt;id&gt;.pid</c>: pid and kernel start time), so
/// instances left behind by a Flotilla that was killed are found and stopped by the next one
/// instead of holding ports and memory forever. The start time tells a reused pid apart.
/// </summary>
internal static class LeftoverInstances
{
    public static void Record(string instancesDirectory, string instanceId, int pid, long? startTime) =>
        File.WriteAllText(PidFile(instancesDirectory, instanceId), $"{pid} {startTime}\n");

    public static void Forget(string instancesDirectory, string instanceId)
    {
        try
        {
            File.Delete(PidFile(instancesDirectory, instanceId));
        }
        catch (IOException)
        {
        }
    }

    /// <summary>Stops every recorded instance that still runs (SIGTERM, then SIGKILL after the grace) and clears its files.</summary>
    public static async Task<IReadOnlyList<string>> StopAllAsync(string instancesDirectory, TimeSpan grace)
    {
        var stopped = new List<string>();
        foreach (var file in Directory.GetFiles(instancesDirectory, "*.pid"))
        {
            var id = Path.GetFileNameWithoutExtension(file);
            var fields = File.ReadAllText(file).Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
            if (fields.Length >= 1 && int.TryParse(fields[0], CultureInfo.InvariantCulture, out var pid)
                && Posix.StartTime(pid) is { } running
                && (fields.Length < 2 || fields[1] == running.ToString(CultureInfo.InvariantCulture)))
            {
                Posix.SignalGroup(pid, Posix.SIGTERM);
                var deadline = DateTime.UtcNow + grace;
                while (Posix.StartTime(pid) == running && DateTime.UtcNow < deadline)
                {
                    await Task.Delay(20);
                }
                Posix.SignalGroup(pid, Posix.SIGKILL);
                stopped.Add($"{id} (pid {pid})");
            }
            LocalInstance.TryDelete(Path.Combine(instancesDirectory, id));
            File.Delete(file);
        }
        return stopped;
    }

    private static string PidFile(string instancesDirectory, string instanceId) => Path.Combine(instancesDirectory, instanceId + ".pid");
}
