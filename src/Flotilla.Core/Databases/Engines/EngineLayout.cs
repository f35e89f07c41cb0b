using System.Text.Json;

namespace Flotilla.Databases.Engines;

/// <summary>
/// Where an engine's members live (<c>engines/ENGINE/ROLE/</c> under the data directory) and
/// their ports, chosen once and kept in <c>engines/ENGINE/ports.json</c>: a restarted server or
/// control plane finds its members on the ports its connection strings name.
/// </summary>
internal sealed class EngineLayout(string directory)
{
    public string Directory => directory;

    private readonly Lock _ports = new();

    public IReadOnlyList<EngineMember> Members(string engine, int replicas)
    {
        // The controller's loop and an apply may ask at once: one chooses a new member's port, the other reads it.
        lock (_ports)
        {
            return MembersUnlocked(engine, replicas);
        }
    }

    private List<EngineMember> MembersUnlocked(string engine, int replicas)
    {
        var folder = Path.Combine(directory, engine);
        System.IO.Directory.CreateDirectory(folder);
        var file = Path.Combine(folder, "ports.json");
        var ports = File.Exists(file) ? JsonSerializer.Deserialize<Dictionary<string, int>>(File.ReadAllText(file)) ?? [] : [];
        var roles = Enumerable.Range(1, replicas).Select(i => $"replica-{i}").Prepend(EngineMember.PrimaryRole).ToList();
        var changed = false;
        foreach (var role in roles.Where(r => !ports.ContainsKey(r)))
        {
            ports[role] = Net.PortAllocator.Next();
            changed = true;
        }
        if (changed)
        {
            var temporary = file + ".tmp";
            File.WriteAllText(temporary, JsonSerializer.Serialize(ports));
            File.Move(temporary, file, overwrite: true);
        }
        return [.. roles.Select(role => new EngineMember(engine, role, Path.Combine(folder, role), ports[role]))];
    }
}
