using Flotilla.Runtime.Docker;

namespace Flotilla.Tests.Support;

/// <summary>
/// A test that needs a Docker Engine with Flotilla's base image. Skipped, saying why, on a
/// developer's machine without them; never skipped in CI (CI is set), where .ci/run starts the
/// engine and makes the image, so a missing engine fails there instead of passing unseen.
/// </summary>
public sealed class DockerFactAttribute : FactAttribute
{
    private static readonly Lazy<string?> Unavailable = new(() =>
    {
        if (Environment.GetEnvironmentVariable("CI") is { Length: > 0 })
        {
            return null;
        }
        try
        {
            using var engine = DockerEngine.ConnectAsync().GetAwaiter().GetResult();
            return BaseImage.ExistsAsync(engine, CancellationToken.None).GetAwaiter().GetResult()
                ? null
                : $"the engine has no {ContainerImages.BaseImage}: run 'flotilla image base'";
        }
        catch (DockerUnavailableException e)
        {
            return e.Message;
        }
    });

    public DockerFactAttribute()
    {
        if (Unavailable.Value is { } why)
        {
            Skip = $"needs a Docker Engine: {why}";
        }
    }
}
