using System.Diagnostics;
using System.Formats.Tar;
using System.Runtime.InteropServices;
using Docker.DotNet.Models;

namespace Flotilla.Runtime.Docker;

/// <summary>
/// Makes <see cref="ContainerImages.BaseImage"/> with no registry: a minimal Debian root from
/// Debian's own packages (debootstrap), with python3, the native libraries .NET needs, and the
/// .NET shared runtime this Flotilla runs on, copied in, then imported into the engine. Artifacts
/// stay framework-dependent, so one artifact (one digest) runs as a process and in a container
/// alike; a self-contained publish per runtime would be two artifacts of one source.
/// </summary>
public static class BaseImage
{
    public const string DefaultSuite = "bookworm";
    public const string DefaultMirror = "http://deb.debian.org/debian";
    private static readonly string[] Packages = ["python3", "ca-certificates", "libicu72", "libssl3", "tzdata"];

    /// <summary>True when the engine has the base image already.</summary>
    public static Task<bool> ExistsAsync(DockerEngine engine, CancellationToken cancellationToken) =>
        new ContainerImages(engine).ExistsAsync(ContainerImages.BaseImage, cancellationToken);

    /// <summary>Builds and imports the base image; throws <see cref="InvalidOperationException"/> saying what is missing.</summary>
    public static async Task BuildAsync(DockerEngine engine, string mirror, string suite, Action<string> progress, CancellationToken cancellationToken)
    {
        var debootstrap = CommandLine.Resolve("debootstrap", "/", Environment.GetEnvironmentVariable("PATH") + ":/usr/sbin:/sbin")
            ?? throw new InvalidOperationException("debootstrap is not installed: apt-get install debootstrap");
        if (Environment.UserName != "root")
        {
            throw new InvalidOperationException("making the base image needs root (debootstrap creates a Debian root with its owners and devices)");
        }
        var work = Directory.CreateTempSubdirectory("flotilla-base-").FullName;
        try
        {
            var root = Path.Combine(work, "root");
            progress($"debootstrap {suite} from {mirror} with {string.Join(", ", Packages)} (a minute or two)");
            await RunAsync(debootstrap, ["--variant=minbase", $"--include={string.Join(',', Packages)}", suite, root, mirror], progress, cancellationToken);
            var dotnet = CopyDotnetRuntime(root);
            progress($"added the .NET shared runtime {dotnet}");
            Directory.CreateDirectory(Path.Combine(root, "work"));
            Directory.CreateDirectory(Path.Combine(root, "artifact"));
            Directories.TryDelete(Path.Combine(root, "var", "cache", "apt", "archives"));
            var tarPath = Path.Combine(work, "root.tar");
            await TarFile.CreateFromDirectoryAsync(root, tarPath, includeBaseDirectory: false, cancellationToken);
            progress($"importing {ContainerImages.BaseImage} ({new FileInfo(tarPath).Length / (1024 * 1024)} MiB) into the Docker Engine at {engine.Endpoint}");
            await using var tar = File.OpenRead(tarPath);
            string? failure = null;
            await engine.Client.Images.CreateImageAsync(
                new ImagesCreateParameters
                {
                    FromSrc = "-",
                    Repo = ContainerImages.BaseImage.Split(':')[0],
                    Tag = ContainerImages.BaseImage.Split(':')[1],
                    Message = $"Flotilla base: Debian {suite} minbase + {string.Join(", ", Packages)} + .NET {dotnet}",
                    Changes =
                    [
                        "ENV PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin",
                        "ENV DOTNET_ROOT=/usr/share/dotnet",
                        "ENV DOTNET_CLI_TELEMETRY_OPTOUT=1",
                        "WORKDIR /work",
                    ],
                },
                tar, null, new Progress<JSONMessage>(m => failure ??= m.Error?.Message), cancellationToken);
            if (!await ExistsAsync(engine, cancellationToken))
            {
                throw new InvalidOperationException($"the Docker Engine did not take the image: {failure ?? "no reason given"}");
            }
        }
        finally
        {
            Directories.TryDelete(work);
        }
    }

    /// <summary>Copies the dotnet host and the shared frameworks of the running version into the root; returns that version.</summary>
    private static string CopyDotnetRuntime(string root)
    {
        // .../dotnet/shared/Microsoft.NETCore.App/10.0.x/
        var runtimeDirectory = new DirectoryInfo(RuntimeEnvironment.GetRuntimeDirectory().TrimEnd('/'));
        var version = runtimeDirectory.Name;
        var dotnetRoot = runtimeDirectory.Parent!.Parent!.Parent!.FullName;
        var target = Path.Combine(root, "usr", "share", "dotnet");
        Directories.CopyTree(Path.Combine(dotnetRoot, "host"), Path.Combine(target, "host"));
        foreach (var framework in new[] { "Microsoft.NETCore.App", "Microsoft.AspNetCore.App" })
        {
            var source = Path.Combine(dotnetRoot, "shared", framework, version);
            if (Directory.Exists(source))
            {
                Directories.CopyTree(source, Path.Combine(target, "shared", framework, version));
            }
        }
        File.Copy(Path.Combine(dotnetRoot, "dotnet"), Path.Combine(target, "dotnet"));
        File.CreateSymbolicLink(Path.Combine(root, "usr", "bin", "dotnet"), "../share/dotnet/dotnet");
        return version;
    }

    private static async Task RunAsync(string program, IReadOnlyList<string> arguments, Action<string> progress, CancellationToken cancellationToken)
    {
        var start = new ProcessStartInfo(program) { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in arguments)
        {
            start.ArgumentList.Add(argument);
        }
        using var process = Process.Start(start)!;
        var tail = new Queue<string>();
        void Line(string? line)
        {
            if (line is null)
            {
                return;
            }
            lock (tail)
            {
                tail.Enqueue(line);
                if (tail.Count > 10)
                {
                    tail.Dequeue();
                }
            }
        }
        process.OutputDataReceived += (_, e) => Line(e.Data);
        process.ErrorDataReceived += (_, e) => Line(e.Data);
        process.BeginOutputReadLine();
        process.BeginErrorReadLine();
        try
        {
            await process.WaitForExitAsync(cancellationToken);
        }
        catch (OperationCanceledException)
        {
            process.Kill(entireProcessTree: true);
            throw;
        }
        if (process.ExitCode != 0)
        {
            throw new InvalidOperationException($"{Path.GetFileName(program)} failed with code {process.ExitCode}: {string.Join(" | ", tail)}");
        }
    }
}
