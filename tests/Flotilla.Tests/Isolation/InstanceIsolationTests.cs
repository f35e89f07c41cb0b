using Flotilla.Databases;
using Flotilla.Isolation;
using Flotilla.Model;
using Flotilla.Net;
using Flotilla.Runtime;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Isolation;

/// <summary>
/// Instances of two services on the local runtime, Flotilla as root: each runs as its service's own
/// Unix user; one tries to read the other's secret file, log, working directory and SQLite file and to
/// signal its process (all refused by the kernel), and reads its own (all fine).
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class InstanceIsolationTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private readonly TempDirectory _state = new("flotilla-isolation");
    private InstanceUsers _users = null!;
    private LocalProcessDriver _driver = null!;

    public Task InitializeAsync()
    {
        _users = InstanceUsers.For(_state.Path, enabled: Environment.IsPrivilegedProcess);
        _driver = new LocalProcessDriver(_state.Path, secrets: s => $"value of {s.Name}", users: _users);
        return Task.CompletedTask;
    }

    public async Task DisposeAsync()
    {
        await _driver.DisposeAsync();
        Assert.Empty(ProcessScan.Mentioning(_state.Path));
        _state.Dispose();
        Assert.DoesNotContain(InstanceUsers.NameOf(_state.Path, "alpha") + ":", File.ReadAllText("/etc/passwd"), StringComparison.Ordinal);
    }

    private static InstanceLaunch Launch(string service, string script, Dictionary<string, string>? env = null)
    {
        var port = PortAllocator.Next();
        var id = $"{service[0]}-{Guid.NewGuid():N}"[..10];
        return new InstanceLaunch(id, service, "rev1", ["sh", "-c", script], env ?? [], port, new HttpSpec(null, null, null), Wait,
            Secrets: [new Secrets.SecretRef("TOKEN_FILE", Secrets.SecretRef.FromStore, service + "-token", AsFile: true, "f")]);
    }

    private InstanceStatus Status(string id) => _driver.Observe().Single(i => i.Id == id);

    [RootFact]
    public async Task Instance_CannotReadOrSignal_AnotherServicesInstance_ButReadsItsOwn()
    {
        Assert.Null(_users.Off);
        SqliteDatabases.Ensure(_state.Path, "alpha", "main", _users.For("alpha"));
        SqliteDatabases.Ensure(_state.Path, "beta", "main", _users.For("beta"));
        var beta = Launch("beta", "echo beta-data > data.txt; exec sleep 300");
        _driver.Start(beta);
        await Eventually.Until(() => Status(beta.Id).Pid != 0 && File.Exists(Path.Combine(_state.Path, "instances", beta.Id, "data.txt")), Wait, "beta to start");
        var betaPid = Status(beta.Id).Pid;
        // Its environment reads empty for a moment while sh execs sleep (the new image's is not set up yet).
        string? betaSecret = null;
        await Eventually.Until(() => (betaSecret = File.ReadAllText($"/proc/{betaPid}/environ").Split('\0')
            .FirstOrDefault(e => e.StartsWith("TOKEN_FILE=", StringComparison.Ordinal))?["TOKEN_FILE=".Length..]) is not null, Wait, "beta's environment to be readable");

        // Each attempt prints "NAME: ok" or "NAME: " and the error the kernel gave.
        const string Try = "try() { name=$1; shift; if \"$@\" >/dev/null 2>err; then echo \"= $name: ok\"; else echo \"= $name: $(cat err)\"; fi; }";
        var alpha = Launch("alpha", $$"""
            {{Try}}
            try other-secret cat "$B_SECRET"
            try other-log cat "$B_LOG"
            try other-workdir ls "$B_WORK"
            try other-workfile cat "$B_WORK/data.txt"
            try other-sqlite cat "$B_DB"
            try other-sqlite-dir touch "$(dirname "$B_DB")/planted"
            try other-kill0 kill -0 "$B_PID"
            try other-kill kill -KILL "$B_PID"
            try own-secret cat "$TOKEN_FILE"
            try own-log cat "$OWN_LOG"
            try own-sqlite cat "$OWN_DB"
            try own-workdir sh -c 'echo mine > mine.txt && cat mine.txt && cat "$HOME/mine.txt"'
            echo "= ids: $(id -u) $(grep -E '^(Uid|CapEff)' /proc/self/status | tr -s '\t\n' ' ')"
            echo "= done: yes"
            exec sleep 300
            """, new()
        {
            ["B_SECRET"] = betaSecret!,
            ["B_LOG"] = Status(beta.Id).LogPath,
            ["B_WORK"] = Path.Combine(_state.Path, "instances", beta.Id),
            ["B_DB"] = SqliteDatabases.PathOf(_state.Path, "beta", "main"),
            ["B_PID"] = betaPid.ToString(System.Globalization.CultureInfo.InvariantCulture),
            ["OWN_DB"] = SqliteDatabases.PathOf(_state.Path, "alpha", "main"),
        });
        alpha = alpha with { Env = new Dictionary<string, string>(alpha.Env) { ["OWN_LOG"] = Path.Combine(_state.Path, "logs", "alpha", alpha.Id + ".log") } };
        _driver.Start(alpha);
        var log = Path.Combine(_state.Path, "logs", "alpha", alpha.Id + ".log");
        await Eventually.Until(() => File.Exists(log) && File.ReadAllLines(log).Contains("= done: yes"), Wait, "alpha's attempts to finish");

        // Flotilla (root) still reads the instance's log.
        var lines = File.ReadAllLines(log).Where(l => l.StartsWith("= ", StringComparison.Ordinal))
            .ToDictionary(l => l[2..l.IndexOf(": ", StringComparison.Ordinal)], l => l[(l.IndexOf(": ", StringComparison.Ordinal) + 2)..], StringComparer.Ordinal);
        var report = File.ReadAllText(log);
        foreach (var attempt in new[] { "other-secret", "other-log", "other-workdir", "other-workfile", "other-sqlite", "other-sqlite-dir", "other-kill0", "other-kill", "own-secret", "own-log", "own-sqlite", "own-workdir", "ids" })
        {
            Assert.True(lines.ContainsKey(attempt), $"no line for {attempt} in alpha's log:\n{report}");
        }
        foreach (var attempt in new[] { "other-secret", "other-log", "other-workdir", "other-workfile", "other-sqlite", "other-sqlite-dir" })
        {
            Assert.True(lines[attempt].Contains("Permission denied", StringComparison.Ordinal), $"{attempt} was not refused:\n{report}");
        }
        foreach (var attempt in new[] { "other-kill0", "other-kill" })
        {
            Assert.True(lines[attempt].Contains("not permitted", StringComparison.OrdinalIgnoreCase), $"{attempt} was not refused:\n{report}");
        }
        Assert.Equal("ok", lines["own-secret"]);
        // Its own log too is root's: the instance writes to the descriptor it inherited, and a log directory it
        // owned would let it swap its next log file for a symlink that root appends to.
        Assert.True(lines["own-log"].Contains("Permission denied", StringComparison.Ordinal), $"own-log was not refused:\n{report}");
        var logDirectory = Path.Combine(_state.Path, "logs", "alpha");
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute, File.GetUnixFileMode(logDirectory));
        Assert.Equal("ok", lines["own-sqlite"]);
        Assert.Equal("ok", lines["own-workdir"]);
        var alphaUser = _users.For("alpha")!;
        var betaUser = _users.For("beta")!;
        Assert.NotEqual(alphaUser.Uid, betaUser.Uid);
        // Real, effective, saved and file-system uid all the user's, and no capability left.
        Assert.Equal($"{alphaUser.Uid} Uid: {alphaUser.Uid} {alphaUser.Uid} {alphaUser.Uid} {alphaUser.Uid} CapEff: 0000000000000000", lines["ids"].Trim());

        // Beta survived the attempts; Flotilla (root) still signals it, by pid and group.
        Assert.True(Posix.IsRunning(betaPid, Status(beta.Id).ProcessStartTime));
        Assert.Equal(betaPid, Posix.ProcessGroup(betaPid));
        await _driver.StopAsync(beta.Id, TimeSpan.FromSeconds(5), "test");
        Assert.Equal(InstanceState.Exited, Status(beta.Id).State);
        Assert.False(Directory.Exists(Path.Combine(_state.Path, "instances", beta.Id)), "the stopped instance's directory (its user's files) was not removed");
        Assert.False(Directory.Exists(Path.GetDirectoryName(betaSecret!)), "the stopped instance's secret files were not removed");
        Assert.False(File.Exists(Path.Combine(Path.GetDirectoryName(SqliteDatabases.PathOf(_state.Path, "beta", "main"))!, "planted")));
    }

    [RootFact]
    public void FilesOfAnInstance_AreItsUsers_AndPrivate()
    {
        var user = _users.For("gamma")!;
        Assert.Same(user, _users.For("gamma"));
        Assert.Equal(user, InstanceUsers.For(_state.Path, enabled: true).For("gamma"));
        var passwd = File.ReadAllLines("/etc/passwd").Single(l => l.StartsWith(user.Name + ":", StringComparison.Ordinal)).Split(':');
        Assert.Equal(InstanceUsers.Comment(_state.Path, "gamma"), passwd[4]);
        Assert.Equal("/usr/sbin/nologin", passwd[6]);
        Assert.True(user.Name.Length <= 32);

        var db = SqliteDatabases.PathOf(_state.Path, "gamma", "main");
        SqliteDatabases.Ensure(_state.Path, "gamma", "main", user);
        Assert.Equal(UnixFileMode.UserRead | UnixFileMode.UserWrite, File.GetUnixFileMode(db));
        Assert.Equal(FileOwnership.Private, File.GetUnixFileMode(Path.GetDirectoryName(db)!));
        Assert.Equal((user.Uid, user.Gid), Owner(db));
        Assert.Equal((user.Uid, user.Gid), Owner(Path.GetDirectoryName(db)!));
    }

    [Fact]
    public void TurnedOff_OrAClosedParent_SharesFlotillasUser_AndSaysWhy()
    {
        var off = InstanceUsers.For(_state.Path, enabled: false);
        Assert.Null(off.For("alpha"));
        Assert.Contains("--instance-users off", off.Warning, StringComparison.Ordinal);
        Assert.Contains("not isolated", off.Warning, StringComparison.Ordinal);

        if (Environment.IsPrivilegedProcess)
        {
            var closed = Directory.CreateDirectory(Path.Combine(_state.Path, "closed"), FileOwnership.Private).FullName;
            var users = InstanceUsers.For(Path.Combine(closed, "data"), enabled: true);
            Assert.Null(users.For("alpha"));
            Assert.Contains($"{closed} (mode 700) is not traversable", users.Off, StringComparison.Ordinal);
        }
        else
        {
            Assert.Contains("not root", InstanceUsers.For(_state.Path, enabled: true).Off, StringComparison.Ordinal);
        }
    }

    private static (int Uid, int Gid) Owner(string path)
    {
        using var stat = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("stat", ["-c", "%u %g", path]) { RedirectStandardOutput = true })!;
        var ids = stat.StandardOutput.ReadToEnd().Trim().Split(' ');
        Assert.True(stat.WaitForExit(10_000));
        return (int.Parse(ids[0], System.Globalization.CultureInfo.InvariantCulture), int.Parse(ids[1], System.Globalization.CultureInfo.InvariantCulture));
    }
}
