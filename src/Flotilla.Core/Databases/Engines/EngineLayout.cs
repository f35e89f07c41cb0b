using System.Text.Json;

namespace Flotilla.Databases.Engines;

/// <summary>
/// Where an engine's members live (<c>engines/ENGINE/ROLE/</c> under the data directory) and
/// their ports, chosen once and kept in <c>engines/ENGINE/ports.json</c>: a restarted server or
/// control plane finds its members on the ports its connection strings name. Which member is the
/// primary is kept in <c>engines/ENGINE/leader</c> (absent: the <c>primary</c> slot), written before
/// a promotion: a control plane that restarts (or crashes mid-failover) reads the topology from
/// it and never starts a former primary as a primary again.
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
        var leader = Leader(engine);
        if (!roles.Contains(leader))
        {
            roles.Add(leader); // fewer replicas than the promoted one's number: the primary stays a member
        }
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
        return [.. roles.Select(role => new EngineMember(engine, role, Path.Combine(folder, role), ports[role], role == leader))];
    }

    /// <summary>The slot that is the engine's primary now.</summary>
    public string Leader(string engine)
    {
        var file = Path.Combine(directory, engine, "leader");
        return File.Exists(file) && File.ReadAllText(file).Trim() is { Length: > 0 } role ? role : EngineMember.PrimaryRole;
    }

    /// <summary>Makes <paramref name="role"/> the primary, durably (written, flushed, renamed, directory flushed) before it is promoted.</summary>
    public void SetLeader(string engine, string role)
    {
        lock (_ports)
        {
            var file = Path.Combine(directory, engine, "leader");
            var temporary = file + ".tmp";
            using (var stream = new FileStream(temporary, FileMode.Create, FileAccess.Write))
            {
                stream.Write(System.Text.Encoding.UTF8.GetBytes(role + "\n"));
                stream.Flush(flushToDisk: true);
            }
            File.Move(temporary, file, overwrite: true);
            // The rename is in the directory: flushed too, or a power cut could bring the old leader back after a failover.
            DirectorySync.Flush(Path.GetDirectoryName(file)!);
        }
    }
}
