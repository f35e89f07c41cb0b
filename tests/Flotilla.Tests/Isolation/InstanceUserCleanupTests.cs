using System.Diagnostics;
using Flotilla.Databases;
using Flotilla.Hosting;
using Flotilla.Isolation;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Isolation;

/// <summary>
/// Unused instance users are removed, with real users: one that runs nothing and owns nothing goes;
/// one with a running process, one that owns its SQLite files, a fl-* user Flotilla did not make and
/// one whose GECOS imitates Flotilla's under another name all stay. A control plane does it at start.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class InstanceUserCleanupTests : IDisposable
{
    private readonly TempDirectory _dir = new("flotilla-usercleanup");
    private readonly List<string> _foreign = [];
    private readonly List<string> _leftovers = [];

    private string Data => Path.Combine(_dir.Path, "data");

    public void Dispose()
    {
        foreach (var name in _foreign)
        {
            InstanceUsers.Run("userdel", name);
        }
        _leftovers.ForEach(File.Delete);
        _dir.Dispose();
        Assert.DoesNotContain(" of " + _dir.Path, File.ReadAllText("/etc/passwd"), StringComparison.Ordinal);
    }

    private static bool Exists(string name) => File.ReadAllLines("/etc/passwd").Any(l => l.StartsWith(name + ":", StringComparison.Ordinal));

    private string Foreign(string name, string comment)
    {
        _foreign.Add(name);
        var (code, output) = InstanceUsers.Run("useradd", "--system", "--no-create-home", "--user-group", "--comment", comment, name);
        Assert.True(code == 0, output);
        return name;
    }

    [RootFact]
    public async Task OnlyUsersThatRunNothingAndOwnNothing_AreRemoved()
    {
        var users = InstanceUsers.For(Data, enabled: true);
        var idle = users.For("idle")!;
        var busy = users.For("busy")!;
        var keeper = users.For("keeper")!;
        SqliteDatabases.Ensure(Data, "keeper", "main", keeper);
        var suffix = Guid.NewGuid().ToString("N")[..8];
        var notOurs = Foreign($"fl-x{suffix}", "someone else's fl- user");
        var imitation = Foreign($"fl-y{suffix}", InstanceUsers.Comment(Data, "ghost"));
        // What the idle user left in /tmp (a .NET instance's diagnostic socket, say) becomes root's: its uid may be given again.
        var leftover = Path.Combine("/tmp", $"flotilla-leftover-{suffix}");
        _leftovers.Add(leftover);
        File.WriteAllText(leftover, "left behind");
        FileOwnership.Give(leftover, idle, FileOwnership.PrivateFile);

        using var process = Process.Start(new ProcessStartInfo("setpriv", ["--reuid", $"{busy.Uid}", "--regid", $"{busy.Gid}", "--clear-groups", "sleep", "300"]))!;
        try
        {
            await Eventually.Until(() => File.ReadAllText($"/proc/{process.Id}/status").Contains($"Uid:\t{busy.Uid}", StringComparison.Ordinal), TimeSpan.FromSeconds(10), "sleep to run as the busy user");

            Assert.Equal([idle.Name], users.RemoveUnused());
            Assert.False(Exists(idle.Name));
            Assert.Equal(0, FileOwnership.Lstat(leftover)!.Uid);
            Assert.True(Exists(busy.Name) && Exists(keeper.Name) && Exists(notOurs) && Exists(imitation));
        }
        finally
        {
            process.Kill();
            process.WaitForExit(10_000);
        }

        Assert.Equal([busy.Name], users.RemoveUnused());
        Assert.True(Exists(keeper.Name) && Exists(notOurs) && Exists(imitation));
        // One still in use is made again on its next instance start.
        Assert.Equal(idle.Name, users.For("idle")!.Name);
        Assert.True(Exists(idle.Name));
    }

    [RootFact]
    public async Task AControlPlane_RemovesUnusedUsers_WhenItStarts()
    {
        var old = InstanceUsers.For(Data, enabled: true).For("deleted-service")!;

        await using var plane = await ControlPlane.StartAsync(new ControlPlaneOptions(Data));

        Assert.False(Exists(old.Name));
        Assert.Contains(plane.Events.Since(0), e => e.Message.Contains($"removed 1 unused instance user(s) (no process, no file of theirs left): {old.Name}", StringComparison.Ordinal));
    }
}
