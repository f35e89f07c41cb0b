using System.CommandLine;

namespace Flotilla.Cli.Commands;

/// <summary>Arguments and options that several verbs share, spelled the same everywhere.</summary>
internal static class CommonOptions
{
    public static Argument<string> SpecPath() => new("path")
    {
        Description = "The system's directory (holding flotilla.yaml) or the spec file itself",
        DefaultValueFactory = _ => ".",
    };

    public static Option<string?> Environment() => new("--env", "-e")
    {
        Description = "The environment overlay to apply (declared under 'environments:')",
    };
}
