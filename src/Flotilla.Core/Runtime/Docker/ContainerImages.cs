using System.Collections.Concurrent;
using System.Formats.Tar;
using System.Text;
using Docker.DotNet;
using Docker.DotNet.Models;

namespace Flotilla.Runtime.Docker;

/// <summary>
/// The images instances run, made without a registry. Every image starts from the base image
/// (<see cref="BaseImage"/>: made once by <c>flotilla image base</c>); a service with an artifact
/// gets one more layer holding that artifact, tagged by the artifact's directory name (service and
/// content digest), so the same artifact is the same image in every environment: built once,
/// promoted unchanged. In a container the artifact is at <see cref="ArtifactPath"/>.
/// </summary>
public sealed class ContainerImages(DockerEngine engine)
{
    public const string BaseImage = "flotilla-base:1";
    public const string ArtifactPath = "/artifact";
    private const string ArtifactRepository = "flotilla-artifact";
    private readonly ConcurrentDictionary<string, Lazy<Task>> _building = new(StringComparer.Ordinal);

    /// <summary>The image that runs an artifact (null: a service without one runs on the base image).</summary>
    public static string For(string? artifactDirectory) =>
        artifactDirectory is null ? BaseImage : $"{ArtifactRepository}:{Path.GetFileName(Path.TrimEndingDirectorySeparator(artifactDirectory))}";

    /// <summary>
    /// Makes sure what a revision runs is in the engine: its artifact's image (built if missing), or a
    /// prebuilt <paramref name="image"/>, which cannot be pulled here: <paramref name="where"/> names the
    /// engine and <paramref name="fix"/> says how to get the image there.
    /// </summary>
    public async Task PrepareAsync(string? image, string? artifactDirectory, string? digest, string where, string fix, Action<string>? progress, CancellationToken cancellationToken)
    {
        if (image is null)
        {
            await EnsureAsync(artifactDirectory, digest, progress, cancellationToken);
        }
        else if (!await ExistsAsync(image, cancellationToken))
        {
            throw new DockerUnavailableException($"image '{image}' is not {where} at {engine.Endpoint}, and there is no registry to pull it from: {fix}");
        }
    }

    /// <summary>
    /// Makes sure the image for <paramref name="artifactDirectory"/> is in the engine, building it if
    /// not; throws <see cref="DockerUnavailableException"/> when the base image is missing or the
    /// build fails, so an apply that needs it is refused with nothing changed.
    /// </summary>
    public async Task EnsureAsync(string? artifactDirectory, string? digest, Action<string>? progress, CancellationToken cancellationToken)
    {
        if (!await ExistsAsync(BaseImage, cancellationToken))
        {
            throw new DockerUnavailableException($"the base image {BaseImage} is not in the Docker Engine at {engine.Endpoint}: make it once with 'flotilla image base' (from Debian's packages, no registry needed)");
        }
        if (artifactDirectory is null)
        {
            return;
        }
        var tag = For(artifactDirectory);
        var build = _building.GetOrAdd(tag, _ => new Lazy<Task>(() => BuildAsync(tag, artifactDirectory, digest, progress, cancellationToken)));
        try
        {
            await build.Value;
        }
        catch
        {
            _building.TryRemove(tag, out _);
            throw;
        }
    }

    private async Task BuildAsync(string tag, string artifactDirectory, string? digest, Action<string>? progress, CancellationToken cancellationToken)
    {
        if (await ExistsAsync(tag, cancellationToken))
        {
            return;
        }
        progress?.Invoke($"building image {tag}");
        var dockerfile = $"FROM {BaseImage}\nCOPY artifact/ {ArtifactPath}/\nLABEL io.flotilla.artifact.digest=\"{digest}\"\n";
        var context = new MemoryStream();
        await using (var tar = new TarWriter(context, TarEntryFormat.Pax, leaveOpen: true))
        {
            var entry = new PaxTarEntry(TarEntryType.RegularFile, "Dockerfile") { DataStream = new MemoryStream(Encoding.UTF8.GetBytes(dockerfile)) };
            await tar.WriteEntryAsync(entry, cancellationToken);
            foreach (var file in Directory.EnumerateFiles(artifactDirectory, "*", SearchOption.AllDirectories))
            {
                await tar.WriteEntryAsync(file, "artifact/" + Path.GetRelativePath(artifactDirectory, file), cancellationToken);
            }
        }
        context.Position = 0;
        string? failure = null;
        var messages = new Progress<JSONMessage>(m => failure ??= m.Error?.Message);
        try
        {
            await engine.Client.Images.BuildImageFromDockerfileAsync(
                new ImageBuildParameters { Tags = [tag], Dockerfile = "Dockerfile", Remove = true, ForceRemove = true },
                context, null, null, messages, cancellationToken);
        }
        catch (DockerApiException e)
        {
            failure ??= e.ResponseBody;
        }
        // Progress callbacks run on the thread pool: the image's presence is the answer that counts.
        if (!await ExistsAsync(tag, cancellationToken))
        {
            throw new DockerUnavailableException($"building image {tag} in the Docker Engine at {engine.Endpoint} failed: {failure ?? "no image was made"}");
        }
    }

    public async Task<bool> ExistsAsync(string image, CancellationToken cancellationToken)
    {
        try
        {
            await engine.Client.Images.InspectImageAsync(image, cancellationToken);
            return true;
        }
        catch (DockerImageNotFoundException)
        {
            return false;
        }
        catch (DockerApiException e) when (e.StatusCode == System.Net.HttpStatusCode.NotFound)
        {
            return false;
        }
    }
}
