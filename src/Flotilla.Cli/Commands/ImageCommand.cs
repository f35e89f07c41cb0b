using System.CommandLine;
using Flotilla.Runtime.Docker;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla image base</c>: makes the base image containers run on, from Debian's packages (no registry needed).</summary>
internal static class ImageCommand
{
    public static Command Create()
    {
        var mirror = new Option<string>("--mirror") { Description = "The Debian mirror debootstrap reads", DefaultValueFactory = _ => BaseImage.DefaultMirror };
        var suite = new Option<string>("--suite") { Description = "The Debian release", DefaultValueFactory = _ => BaseImage.DefaultSuite };
        var force = new Option<bool>("--force") { Description = "Make it again even when the engine has it" };
        var base_ = new Command("base", $"Make {ContainerImages.BaseImage}, the image 'runtime: docker' runs instances on: Debian minbase + python3 + the .NET runtime (needs root and debootstrap)")
        {
            mirror, suite, force,
        };
        base_.SetAction(async (parse, ct) =>
        {
            try
            {
                using var engine = await DockerEngine.ConnectAsync(cancellationToken: ct);
                if (!parse.GetValue(force) && await BaseImage.ExistsAsync(engine, ct))
                {
                    Console.WriteLine($"{ContainerImages.BaseImage} is already in the Docker Engine at {engine.Endpoint} (--force makes it again)");
                    return 0;
                }
                var clock = System.Diagnostics.Stopwatch.StartNew();
                await BaseImage.BuildAsync(engine, parse.GetValue(mirror)!, parse.GetValue(suite)!, Console.WriteLine, ct);
                Console.WriteLine($"{ContainerImages.BaseImage} made in {clock.Elapsed.TotalSeconds:0} s");
                return 0;
            }
            catch (Exception e) when (e is DockerUnavailableException or InvalidOperationException or IOException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                return 1;
            }
        });
        return new Command("image", "Container images for 'runtime: docker'") { base_ };
    }
}
