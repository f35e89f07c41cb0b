using Flotilla.Databases.Postgres;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Databases;

/// <summary>
/// A PostgreSQL server killed -9 keeps its shared memory (a System V segment, /dev/shm/PostgreSQL.*) after its
/// data directory is deleted: 63 such segments had piled up from the test runs. Freed before the directory goes,
/// and only that server's.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class PostgresLeftoversTests
{
    [Fact]
    public async Task AKilledServersDirectory_IsDeleted_WithoutLeavingItsSharedMemory()
    {
        var server = await PostgresInstance.StartNewAsync();
        var pid = server.Pid!.Value;
        var segment = SystemVSegment(server.DataDirectory);
        var mapped = MappedSharedMemory(pid);
        Assert.True(SystemVSegmentExists(segment), $"segment {segment} of postmaster {pid}");
        Assert.NotEmpty(mapped);
        // Someone else's segment, which nothing here may touch.
        var other = Path.Combine("/dev/shm", $"PostgreSQL.flotilla-test-{Guid.NewGuid():N}");
        await File.WriteAllTextAsync(other, "");
        try
        {
            server.Kill();
            Assert.All(mapped, file => Assert.True(File.Exists(file), $"{file} outlives its killed server"));

            await server.DisposeAsync();

            Assert.All(mapped, file => Assert.False(File.Exists(file), $"{file} of the killed server was left"));
            Assert.False(SystemVSegmentExists(segment), $"System V segment {segment} of the killed server was left");
            Assert.True(File.Exists(other));
        }
        finally
        {
            File.Delete(other);
        }
    }

    [Fact]
    public async Task AKilledServerThatLostItsControlFile_IsFreedToo()
    {
        // The engine's rebuild of a replica whose pg_control is gone: a single-user start alone stops on that before it frees anything.
        await using var server = await PostgresInstance.StartNewAsync();
        var segment = SystemVSegment(server.DataDirectory);
        var mapped = MappedSharedMemory(server.Pid!.Value);
        server.Kill();
        File.Delete(Path.Combine(server.DataDirectory, "global", "pg_control"));

        Assert.Null(await PostgresLeftovers.ReleaseAsync(server.DataDirectory, CancellationToken.None));

        Assert.All(mapped, file => Assert.False(File.Exists(file), $"{file} of the killed server was left"));
        Assert.False(SystemVSegmentExists(segment), $"System V segment {segment} of the killed server was left");
    }

    [Fact]
    public async Task AServerStillRunning_IsNotTouched()
    {
        await using var server = await PostgresInstance.StartNewAsync();
        var kept = await PostgresLeftovers.ReleaseAsync(server.DataDirectory, CancellationToken.None);
        Assert.Contains("still runs", kept, StringComparison.Ordinal);
        Assert.Equal(1, await server.ScalarAsync("SELECT 1"));
    }

    /// <summary>postmaster.pid's seventh line: the shared memory key and the System V segment's id.</summary>
    private static int SystemVSegment(string dataDirectory) =>
        int.Parse(File.ReadLines(Path.Combine(dataDirectory, "postmaster.pid")).ElementAt(6).Split(' ', StringSplitOptions.RemoveEmptyEntries)[1], System.Globalization.CultureInfo.InvariantCulture);

    private static bool SystemVSegmentExists(int id) =>
        File.ReadLines("/proc/sysvipc/shm").Skip(1).Any(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries)[1] == id.ToString(System.Globalization.CultureInfo.InvariantCulture));

    private static IReadOnlyList<string> MappedSharedMemory(int pid) =>
        File.ReadLines($"/proc/{pid}/maps").Select(l => l.Split(' ', StringSplitOptions.RemoveEmptyEntries).LastOrDefault() ?? "")
            .Where(f => f.StartsWith("/dev/shm/PostgreSQL.", StringComparison.Ordinal)).Distinct().ToList();
}
