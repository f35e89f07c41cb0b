using System.Diagnostics;
using Flotilla.Databases.Engines;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Databases;

/// <summary>
/// The leader file's rename is made durable: strace, attached to this test process, sees the rename
/// into the engine's directory followed by an fsync of that directory (a power cut cannot bring the
/// old leader back after a failover). Skipped where strace is not installed.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class LeaderFileDurabilityTests
{
    [StraceFact]
    public async Task SetLeader_FlushesTheDirectory_AfterTheRename()
    {
        using var dir = new TempDirectory("flotilla-leader");
        var folder = Directory.CreateDirectory(Path.Combine(dir.Path, "pg")).FullName;
        var layout = new EngineLayout(dir.Path);
        var trace = Path.Combine(dir.Path, "trace");
        var start = new ProcessStartInfo("/usr/bin/strace", ["-f", "-o", trace, "-e", "trace=rename,renameat,renameat2,open,openat,fsync,fdatasync,close",
            "-P", folder, "-P", Path.Combine(folder, "leader"), "-P", Path.Combine(folder, "leader.tmp"), "-p", $"{Environment.ProcessId}"]) { RedirectStandardError = true };
        using var strace = Process.Start(start)!;
        var attached = new TaskCompletionSource();
        var errors = new System.Text.StringBuilder();
        strace.ErrorDataReceived += (_, e) =>
        {
            lock (errors)
            {
                errors.AppendLine(e.Data);
            }
            if (e.Data?.Contains("attached", StringComparison.Ordinal) == true)
            {
                attached.TrySetResult();
            }
        };
        strace.BeginErrorReadLine();
        try
        {
            await attached.Task.WaitAsync(TimeSpan.FromSeconds(20));
            await Task.Delay(500);

            layout.SetLeader("pg", "replica-1");
            Assert.Equal("replica-1", layout.Leader("pg"));
            await Task.Delay(500);
        }
        finally
        {
            // Detach (SIGINT is how strace lets go of a traced process) and let it write its output.
            Flotilla.Runtime.Posix.Signal(strace.Id, Flotilla.Runtime.Posix.SIGINT);
            if (!strace.WaitForExit(20_000))
            {
                strace.Kill();
                strace.WaitForExit(10_000);
            }
        }

        var lines = File.ReadAllLines(trace);
        var rename = Array.FindIndex(lines, l => l.Contains("rename", StringComparison.Ordinal) && l.Contains("leader.tmp", StringComparison.Ordinal));
        Assert.True(rename >= 0, $"no rename of leader.tmp traced:\n{string.Join('\n', lines)}\n{errors}");
        var open = Array.FindIndex(lines, rename, l => l.Contains($"\"{folder}\"", StringComparison.Ordinal) && l.Contains("O_DIRECTORY", StringComparison.Ordinal));
        Assert.True(open > rename, $"the directory was not opened after the rename:\n{string.Join('\n', lines)}");
        var fd = lines[open][(lines[open].LastIndexOf('=') + 1)..].Trim();
        Assert.Contains(lines.Skip(open), l => l.Contains($"fsync({fd}", StringComparison.Ordinal) && l.TrimEnd().EndsWith("= 0", StringComparison.Ordinal));
    }
}
