using Flotilla.Isolation;
using Flotilla.Model;
using Flotilla.Net;
using Flotilla.Runtime;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Isolation;

/// <summary>
/// The secrets root (/dev/shm/flotilla-secrets-USER in production, a directory of the test here) made
/// first by someone else, a symlink, or open to writers: the driver refuses to start and no secret is
/// written; a symlink planted where a secret file goes is replaced, not written through.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class SecretDirectoryTests : IDisposable
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(20);
    private static readonly InstanceUser Nobody = new("nobody", 65534, 65534);
    private readonly TempDirectory _dir = new("flotilla-secretdir");

    private string Root => Path.Combine(_dir.Path, "secrets");

    private string State => Path.Combine(_dir.Path, "state");

    public void Dispose() => _dir.Dispose();

    private LocalProcessDriver Driver(InstanceUsers? users = null) =>
        new(State, new SecretFiles(Root), secrets: s => $"value of {s.Name}", users: users);

    [RootFact]
    public void ARootOwnedBySomeoneElse_StopsTheDriver_AndNothingIsWritten()
    {
        Directory.CreateDirectory(Root);
        FileOwnership.Give(Root, Nobody, (UnixFileMode)0b111_101_101);

        var error = Assert.Throws<InvalidOperationException>(() => Driver());
        Assert.Contains($"refusing to write secret files into {Root}", error.Message, StringComparison.Ordinal);
        Assert.Contains("owned by uid 65534 (nobody)", error.Message, StringComparison.Ordinal);
        Assert.Contains($"rm -rf {Root}", error.Message, StringComparison.Ordinal);

        var write = Assert.Throws<InvalidOperationException>(() => new SecretFiles(Root).Write("i1", "TOKEN", "s3cret"));
        Assert.Contains("owned by uid 65534", write.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Root));
    }

    [Fact]
    public void ARootThatIsASymlink_OrOpenToWriters_IsRefused()
    {
        var target = Directory.CreateDirectory(Path.Combine(_dir.Path, "elsewhere"), FileOwnership.Private).FullName;
        File.CreateSymbolicLink(Root, target);
        var symlink = Assert.Throws<InvalidOperationException>(() => Driver());
        Assert.Contains($"{Root}: it is a symlink (to {target})", symlink.Message, StringComparison.Ordinal);
        Assert.Throws<InvalidOperationException>(() => new SecretFiles(Root).Write("i1", "TOKEN", "s3cret"));
        Assert.Empty(Directory.EnumerateFileSystemEntries(target));

        File.Delete(Root);
        Directory.CreateDirectory(Root);
        File.SetUnixFileMode(Root, (UnixFileMode)0b111_111_111);
        var open = Assert.Throws<InvalidOperationException>(() => new SecretFiles(Root).Write("i1", "TOKEN", "s3cret"));
        Assert.Contains("its mode 777 lets other users write into it", open.Message, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Root));
    }

    [Fact]
    public void WithoutShm_SecretsGoUnderAcheckedRootInTheTempDirectory_NeverInAWorkingDirectory()
    {
        // Before, they went to WORKDIR/.secrets: the instance's user could swap that for a symlink between
        // the check and the write, and Docker's WORKDIR was the host's /tmp, so every container's TOKEN was one file.
        Assert.Equal(Path.Combine(Path.GetTempPath(), $"flotilla-secrets-{Environment.UserName}"), SecretFiles.DefaultRoot(shm: false));
        Assert.Equal($"/dev/shm/flotilla-secrets-{Environment.UserName}", SecretFiles.DefaultRoot(shm: true));

        var files = new SecretFiles(Root);
        var first = files.Write("i1", "TOKEN", "of orders");
        var second = files.Write("i2", "TOKEN", "of payments");

        Assert.NotEqual(first, second);
        Assert.Equal("of orders", File.ReadAllText(first));
        Assert.Equal("of payments", File.ReadAllText(second));
        Assert.Equal(Path.Combine(Root, "i1", "TOKEN"), first);
    }

    [Fact]
    public void ASymlinkPlantedAtASecretsName_IsReplaced_NotWrittenThrough()
    {
        var files = new SecretFiles(Root);
        files.Prepare(traversable: false);
        var outside = Path.Combine(_dir.Path, "outside.txt");
        File.WriteAllText(outside, "untouched");
        Directory.CreateDirectory(Path.Combine(Root, "i1"), FileOwnership.Private);
        File.CreateSymbolicLink(Path.Combine(Root, "i1", "TOKEN"), outside);

        var path = files.Write("i1", "TOKEN", "s3cret");

        Assert.Equal("untouched", File.ReadAllText(outside));
        Assert.Equal(FileKind.File, FileOwnership.Lstat(path)!.Kind);
        Assert.Equal("s3cret", File.ReadAllText(path));
        Assert.Equal(UnixFileMode.UserRead, File.GetUnixFileMode(path));
        Assert.Equal(["TOKEN"], Directory.EnumerateFileSystemEntries(Path.Combine(Root, "i1")).Select(Path.GetFileName));
        Assert.Equal(FileOwnership.Private, File.GetUnixFileMode(Root));
        Assert.Equal(FileOwnership.EffectiveUid, FileOwnership.Lstat(Root)!.Uid);
    }

    [Fact]
    public async Task ANormalRun_WritesTheSecret_AndASquatAfterStart_FailsTheInstanceNotTheSecret()
    {
        var users = InstanceUsers.For(State, enabled: Environment.IsPrivilegedProcess);
        await using var driver = Driver(users);
        Assert.Equal(users.Off is null ? FileOwnership.Traversable : FileOwnership.Private, File.GetUnixFileMode(Root));

        var first = Launch("reader");
        driver.Start(first);
        var log = Path.Combine(State, "logs", "reader", first.Id + ".log");
        await Eventually.Until(() => File.Exists(log) && File.ReadAllText(log).Contains("= value of reader-token", StringComparison.Ordinal), Wait, "the instance to print its secret");
        await Eventually.Until(() => driver.Observe().Single(i => i.Id == first.Id).State == InstanceState.Exited, Wait, "the instance to end");

        // Taken away and made again by someone else while the driver runs: checked before every write.
        Directory.Delete(Root, recursive: true);
        Directory.CreateDirectory(Root);
        File.SetUnixFileMode(Root, (UnixFileMode)0b111_111_111);
        var second = Launch("reader");
        driver.Start(second);
        var status = driver.Observe().Single(i => i.Id == second.Id);
        Assert.Equal(InstanceState.Exited, status.State);
        Assert.Contains($"refusing to write secret files into {Root}", status.Reason, StringComparison.Ordinal);
        Assert.Empty(Directory.EnumerateFileSystemEntries(Root));
    }

    private static InstanceLaunch Launch(string service)
    {
        var id = $"{service[0]}-{Guid.NewGuid():N}"[..10];
        return new InstanceLaunch(id, service, "rev1", ["sh", "-c", "echo \"= $(cat \"$TOKEN_FILE\")\""], new Dictionary<string, string>(), PortAllocator.Next(), new HttpSpec(null, null, null), Wait,
            Secrets: [new global::Flotilla.Secrets.SecretRef("TOKEN_FILE", global::Flotilla.Secrets.SecretRef.FromStore, service + "-token", AsFile: true, "f")]);
    }
}
