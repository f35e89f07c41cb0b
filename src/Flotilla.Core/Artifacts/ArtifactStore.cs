using System.Collections.Concurrent;
using System.Diagnostics;
using Flotilla.Model;

namespace Flotilla.Artifacts;

/// <summary>
/// Builds each service's artifact once and keeps it under its content digest. A directory
/// that exists under a digest is complete (it is moved in whole), so an unchanged source
/// is never rebuilt and a running instance never sees its files change.
/// </summary>
public sealed class ArtifactStore(string root)
{
    private const string PublishKind = "dotnet-publish-v1";
    private const string SnapshotKind = "files-v1";
    private readonly ConcurrentDictionary<string, SemaphoreSlim> _locks = new();

    public string Root { get; } = Path.GetFullPath(root);

    /// <summary>The digest an artifact of this service would have, without building it (null: the service has no artifact).</summary>
    public static string? DigestOf(ServiceSpec service) =>
        service.Build is { } project ? SourceDigest.Compute(PublishKind, Path.GetDirectoryName(project)!, includeInherited: true)
        : service.Files is { } files ? SourceDigest.Compute(SnapshotKind, files, includeInherited: false)
        : null;

    /// <summary>The artifact of a service: built now if its inputs changed, else the stored one.</summary>
    public async Task<Artifact?> EnsureAsync(ServiceSpec service, Action<string>? progress = null, CancellationToken cancellationToken = default)
    {
        if (service.Build is { } project)
        {
            var digest = SourceDigest.Compute(PublishKind, Path.GetDirectoryName(project)!, includeInherited: true);
            return await GetOrCreateAsync(service, digest, staging => OneAtATimeAsync(ScratchOf(service.Name), () => PublishAsync(service.Name, project, staging, progress, cancellationToken), cancellationToken), cancellationToken);
        }
        if (service.Files is { } files)
        {
            var digest = SourceDigest.Compute(SnapshotKind, files, includeInherited: false);
            return await GetOrCreateAsync(service, digest, staging => Task.Run(() => CopyTree(files, staging), cancellationToken), cancellationToken);
        }
        return null;
    }

    /// <summary>
    /// Takes in an artifact another store holds (promotion between environments): the same
    /// directory name, so the same digest, copied whole; nothing is rebuilt. Returns its directory here.
    /// </summary>
    public async Task<string> ImportAsync(string artifactDirectory, CancellationToken cancellationToken = default)
    {
        var directory = Path.Combine(Root, Path.GetFileName(artifactDirectory));
        if (Path.GetFullPath(artifactDirectory) == directory)
        {
            return directory;
        }
        var gate = _locks.GetOrAdd(directory, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (!Directory.Exists(directory))
            {
                var staging = Path.Combine(Root, ".staging", $"import-{Guid.NewGuid():N}");
                await Task.Run(() => Runtime.Directories.CopyTree(artifactDirectory, staging), cancellationToken);
                Directory.CreateDirectory(staging);
                Directory.Move(staging, directory);
            }
            return directory;
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task<Artifact> GetOrCreateAsync(ServiceSpec service, string digest, Func<string, Task> create, CancellationToken cancellationToken)
    {
        var directory = Path.Combine(Root, $"{service.Name}-{digest[..16]}");
        var gate = _locks.GetOrAdd(directory, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            if (!Directory.Exists(directory))
            {
                var staging = Path.Combine(Root, ".staging", $"{service.Name}-{Guid.NewGuid():N}");
                Directory.CreateDirectory(staging);
                try
                {
                    await create(staging);
                    try
                    {
                        Directory.Move(staging, directory);
                    }
                    catch (IOException) when (Directory.Exists(directory))
                    {
                        // Another Flotilla process built the same digest first; its copy is identical.
                    }
                }
                finally
                {
                    if (Directory.Exists(staging))
                    {
                        Directory.Delete(staging, recursive: true);
                    }
                }
            }
            return new Artifact(digest, directory, service.Build is { } project ? DotnetEntry(service.Name, project, directory) : []);
        }
        finally
        {
            gate.Release();
        }
    }

    private async Task PublishAsync(string service, string project, string output, Action<string>? progress, CancellationToken cancellationToken)
    {
        // Intermediate files go to the store, not the source tree, so a build never changes its own inputs.
        var scratch = ScratchOf(service);
        var start = new ProcessStartInfo("dotnet")
        {
            ArgumentList = { "publish", project, "-c", "Release", "-o", output, "--nologo", "-v", "quiet", "--artifacts-path", scratch },
            RedirectStandardOutput = true,
            RedirectStandardError = true,
        };
        start.Environment["DOTNET_CLI_TELEMETRY_OPTOUT"] = "1";
        start.Environment["DOTNET_NOLOGO"] = "1";
        progress?.Invoke($"publishing {Path.GetFileName(project)}");
        using var process = Process.Start(start) ?? throw new ArtifactBuildException(service, "could not start 'dotnet publish'", []);
        var lines = new List<string>();
        var reading = Task.WhenAll(Collect(process.StandardOutput, lines), Collect(process.StandardError, lines));
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        await reading;
        if (process.ExitCode != 0)
        {
            var tail = lines.Where(l => l.Trim().Length > 0).TakeLast(20).ToList();
            throw new ArtifactBuildException(service, $"build of {project} failed (dotnet publish exited with {process.ExitCode})", tail);
        }
    }

    private string ScratchOf(string service) => Path.Combine(Root, ".build", service);

    /// <summary>
    /// Runs one build at a time in a service's intermediate directory: applies build concurrently, and two
    /// sources of one service have different digests (so different gates in <see cref="GetOrCreateAsync"/>) but share it.
    /// </summary>
    private async Task OneAtATimeAsync(string scratch, Func<Task> build, CancellationToken cancellationToken)
    {
        var gate = _locks.GetOrAdd(scratch, _ => new SemaphoreSlim(1, 1));
        await gate.WaitAsync(cancellationToken);
        try
        {
            await build();
        }
        finally
        {
            gate.Release();
        }
    }

    private static async Task Collect(StreamReader reader, List<string> lines)
    {
        while (await reader.ReadLineAsync() is { } line)
        {
            lock (lines)
            {
                lines.Add(line);
            }
        }
    }

    /// <summary>
    /// How to run a published app: through the dotnet host, its own executable when self-contained,
    /// or the native executable Native AOT (<c>PublishAot</c> in the project) leaves with no runtimeconfig.
    /// </summary>
    private static IReadOnlyList<string> DotnetEntry(string service, string project, string directory)
    {
        var config = Directory.GetFiles(directory, "*.runtimeconfig.json");
        if (config.Length == 0 && NativeExecutable(project, directory) is { } native)
        {
            return [native];
        }
        if (config.Length != 1)
        {
            throw new ArtifactBuildException(service, $"the published output in {directory} has {config.Length} runtimeconfig files and no native executable named after {Path.GetFileName(project)}; expected exactly one application (publish one project, or set its AssemblyName to the project's name)", []);
        }
        var name = Path.GetFileName(config[0])[..^".runtimeconfig.json".Length];
        using var json = System.Text.Json.JsonDocument.Parse(File.ReadAllText(config[0]));
        var selfContained = json.RootElement.TryGetProperty("runtimeOptions", out var options) && options.TryGetProperty("includedFrameworks", out _);
        return selfContained ? [Path.Combine(directory, name)] : ["dotnet", Path.Combine(directory, name + ".dll")];
    }

    private static string? NativeExecutable(string project, string directory)
    {
        var path = Path.Combine(directory, Path.GetFileNameWithoutExtension(project));
        return File.Exists(path) && (File.GetUnixFileMode(path) & UnixFileMode.UserExecute) != 0 ? path : null;
    }

    private static void CopyTree(string source, string target)
    {
        foreach (var file in SourceDigest.Files(source))
        {
            var destination = Path.Combine(target, Path.GetRelativePath(source, file));
            Directory.CreateDirectory(Path.GetDirectoryName(destination)!);
            File.Copy(file, destination);
        }
    }
}
