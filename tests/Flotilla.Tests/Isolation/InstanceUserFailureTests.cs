using System.Diagnostics;
using Flotilla.Isolation;
using Flotilla.Model;
using Flotilla.Net;
using Flotilla.Runtime;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Isolation;

/// <summary>
/// Creating a user going wrong for real: a name service that never sees the new user (getent stands
/// in for a stale cache), a malformed passwd entry, and the real useradd with a used-up uid range
/// (its range narrowed with -K to uids that are taken). Each fails the instance's start with a clear
/// error, in bounded time.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class InstanceUserFailureTests : IDisposable
{
    private readonly TempDirectory _dir = new("flotilla-userfail");

    public void Dispose() => _dir.Dispose();

    private string Script(string name, string body)
    {
        var path = _dir.Write(name, "#!/bin/sh\n" + body + "\n");
        File.SetUnixFileMode(path, (UnixFileMode)0b111_101_101);
        return path;
    }

    private string Data => Path.Combine(_dir.Path, "data");

    [RootFact]
    public async Task AUserTheNameServiceNeverSees_FailsTheStart_AfterBoundedTries()
    {
        var calls = Path.Combine(_dir.Path, "useradd-calls");
        var tools = UserTools.System with { Getent = Script("getent", "exit 2"), Useradd = Script("useradd", $"echo x >> {calls}; exit 0") };
        var users = InstanceUsers.For(Data, enabled: true, tools);
        await using var driver = new LocalProcessDriver(Path.Combine(_dir.Path, "state"), new SecretFiles(Path.Combine(_dir.Path, "secrets")), users: users);
        var launch = new InstanceLaunch("a-1", "alpha", "rev1", ["sleep", "300"], new Dictionary<string, string>(), PortAllocator.Next(), new HttpSpec(null, null, null), TimeSpan.FromSeconds(5));

        var clock = Stopwatch.StartNew();
        driver.Start(launch);
        clock.Stop();

        var status = driver.Observe().Single();
        Assert.Equal(InstanceState.Exited, status.State);
        var name = InstanceUsers.NameOf(Data, "alpha");
        Assert.Contains($"cannot use instance user {name}", status.Reason, StringComparison.Ordinal);
        Assert.Contains("after 50 tries", status.Reason, StringComparison.Ordinal);
        Assert.Contains($"getent passwd {name} does not find it", status.Reason, StringComparison.Ordinal);
        Assert.Contains("nscd -i passwd", status.Reason, StringComparison.Ordinal);
        Assert.Equal(50, File.ReadAllLines(calls).Length);
        Assert.True(clock.Elapsed < TimeSpan.FromSeconds(30), $"gave up only after {clock.Elapsed}");
        Assert.Equal(0, status.Pid);
    }

    [RootFact]
    public void AMalformedPasswdEntry_IsAClearError()
    {
        var name = InstanceUsers.NameOf(Data, "alpha");
        var tools = UserTools.System with { Getent = Script("getent", $"echo '{name}:x:not-a-number:1:flotilla:/nonexistent:/bin/false'"), Useradd = Script("useradd", "exit 9") };
        var users = InstanceUsers.For(Data, enabled: true, tools);

        var error = Assert.Throws<InvalidOperationException>(() => users.For("alpha"));
        Assert.Contains($"getent passwd {name} answered a malformed entry '{name}:x:not-a-number:1:", error.Message, StringComparison.Ordinal);
        Assert.Contains("numeric uid and gid", error.Message, StringComparison.Ordinal);
    }

    [RootFact]
    public void AUsedUpUidRange_SaysWhatAndHowToFreeIt_AndCreatesNothing()
    {
        // The real useradd, its system range narrowed to uids and gids 1..2 (daemon, bin: taken).
        var tools = UserTools.System with { Useradd = Script("useradd", $"exec {UserTools.System.Useradd} -K SYS_UID_MIN=1 -K SYS_UID_MAX=2 -K SYS_GID_MIN=1 -K SYS_GID_MAX=2 \"$@\"") };
        var users = InstanceUsers.For(Data, enabled: true, tools);
        var name = InstanceUsers.NameOf(Data, "alpha");

        var error = Assert.Throws<InvalidOperationException>(() => users.For("alpha"));
        Assert.Contains($"cannot create instance user {name}", error.Message, StringComparison.Ordinal);
        Assert.Contains("the system uid range is used up", error.Message, StringComparison.Ordinal);
        Assert.Contains("no more available", error.Message, StringComparison.OrdinalIgnoreCase);
        Assert.Contains("userdel the fl-* users", error.Message, StringComparison.Ordinal);
        Assert.Contains("Restart Flotilla to remove the unused ones", error.Message, StringComparison.Ordinal);
        Assert.DoesNotContain(name + ":", File.ReadAllText("/etc/passwd"), StringComparison.Ordinal);
        Assert.DoesNotContain(name + ":", File.ReadAllText("/etc/group"), StringComparison.Ordinal);
    }
}
