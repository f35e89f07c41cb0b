using System.Runtime.InteropServices;
using Flotilla.Runtime;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Runtime;

/// <summary>
/// What a spawned child holds: its three standard descriptors and nothing its spawner inherited. A router
/// started under <c>flock LOCK dotnet test</c> once held the lock for good after its test ended.
/// </summary>
public sealed class PosixSpawnTests
{
    [Fact]
    public async Task SpawnedChild_DoesNotInherit_ADescriptorWithoutCloseOnExec()
    {
        using var dir = new TempDirectory("flotilla-spawn");
        using var held = new InheritableDescriptor(dir);
        var log = Path.Combine(dir.Path, "fds.log");
        // ls of /proc/self/fd: the descriptors the child started with (its own directory stream is the lowest free one).
        var pid = PosixSpawn.Start("/bin/sh", ["-c", "exec ls -l /proc/self/fd/"], new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" }, dir.Path, log);
        Assert.Equal(0, PosixSpawn.ExitCode(await Task.Run(() => PosixSpawn.WaitForExit(pid)) ?? -1));
        var listing = await File.ReadAllTextAsync(log);
        Assert.DoesNotContain(held.Path, listing, StringComparison.Ordinal);
        Assert.Contains("/dev/null", listing, StringComparison.Ordinal);
    }

    /// <summary>
    /// Descriptors passed as inherited land at 3, 4, ... in the order given (here the reverse of their numbers
    /// in this process), open in the child without close-on-exec; the one not passed, though inheritable, does not.
    /// The numbers are read, not assumed: another test's thread can free a lower descriptor between the two opens.
    /// </summary>
    [Fact]
    public async Task InheritedDescriptors_AreTheChilds3And4_InTheOrderGiven_AndNothingElseIs()
    {
        using var dir = new TempDirectory("flotilla-spawn");
        using var held = new InheritableDescriptor(dir);
        var first = dir.Write("first", "");
        var second = dir.Write("second", "");
        using var a = File.OpenHandle(first, FileMode.Open, FileAccess.Read);
        using var b = File.OpenHandle(second, FileMode.Open, FileAccess.Read);
        var (fa, fb) = ((int)a.DangerousGetHandle(), (int)b.DangerousGetHandle());
        (int Descriptor, string Path) higher = fa > fb ? (fa, first) : (fb, second), lower = fa > fb ? (fb, second) : (fa, first);
        var log = Path.Combine(dir.Path, "fds.log");
        var pid = PosixSpawn.Start("/bin/sh", ["-c", "readlink /proc/self/fd/3 /proc/self/fd/4; exec ls -l /proc/self/fd/"], new Dictionary<string, string> { ["PATH"] = "/usr/bin:/bin" }, dir.Path, log, inherited: [higher.Descriptor, lower.Descriptor]);
        Assert.Equal(0, PosixSpawn.ExitCode(await Task.Run(() => PosixSpawn.WaitForExit(pid)) ?? -1));
        var lines = await File.ReadAllLinesAsync(log);
        Assert.Equal([higher.Path, lower.Path], lines[..2]);
        Assert.DoesNotContain(held.Path, string.Join('\n', lines[2..]), StringComparison.Ordinal);
    }

    /// <summary>
    /// Process.Start (HAProxy's master, builds, git) closes nothing it inherited: what Flotilla inherited is
    /// marked close-on-exec at start instead, so no child of any kind gets it.
    /// </summary>
    [Fact]
    public async Task AfterTheStartPass_AProcessStartChild_DoesNotInherit_ADescriptorWithoutCloseOnExec()
    {
        using var dir = new TempDirectory("flotilla-spawn");
        using var held = new InheritableDescriptor(dir);
        Assert.Contains(held.Path, await ListDescriptorsAsync());   // the control: Process.Start passes it on
        InheritedDescriptors.CloseOnExecAll();
        Assert.DoesNotContain(held.Path, await ListDescriptorsAsync());
    }

    /// <summary>
    /// A file open on a descriptor without FD_CLOEXEC (dup() gives one), as flock(1) hands its lock to the
    /// command it runs.
    /// </summary>
    private sealed class InheritableDescriptor : IDisposable
    {
        private readonly Microsoft.Win32.SafeHandles.SafeFileHandle _file;
        private readonly int _descriptor;

        public InheritableDescriptor(TempDirectory dir)
        {
            Path = dir.Write("held.lock", "");
            _file = File.OpenHandle(Path, FileMode.Open, FileAccess.Read);
            _descriptor = Dup((int)_file.DangerousGetHandle());
            Assert.True(_descriptor > 2, $"dup failed: errno {Marshal.GetLastPInvokeError()}");
        }

        public string Path { get; }

        public void Dispose()
        {
            Close(_descriptor);
            _file.Dispose();
        }
    }

    private static async Task<string> ListDescriptorsAsync()
    {
        using var ls = System.Diagnostics.Process.Start(new System.Diagnostics.ProcessStartInfo("/bin/sh", ["-c", "exec ls -l /proc/self/fd/"]) { RedirectStandardOutput = true })!;
        var listing = await ls.StandardOutput.ReadToEndAsync();
        await ls.WaitForExitAsync();
        return listing;
    }

    // DllImport: this project has no unsafe code, which LibraryImport needs; both calls are blittable.
    [DllImport("libc", EntryPoint = "dup", SetLastError = true)]
    private static extern int Dup(int fd);

    [DllImport("libc", EntryPoint = "close")]
    private static extern int Close(int fd);
}
