using System.CommandLine;
using Flotilla.Cli.Output;
using Flotilla.Model;
using Spectre.Console;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla validate [path] [--env E]</c>: every spec error and warning with file, line and column;
/// non-zero exit when there is an error (a warning does not stop an apply, so it does not fail here either).
/// </summary>
internal static class ValidateCommand
{
    public static Command Create()
    {
        var path = CommonOptions.SpecPath();
        var env = CommonOptions.Environment();
        var command = new Command("validate", "Check a spec and report every error with its position") { path, env };
        command.SetAction(parse =>
        {
            if (SpecErrorPrinter.TryLoad(parse.GetValue(path)!, parse.GetValue(env)) is not { } spec)
            {
                return 1;
            }
            SpecErrorPrinter.PrintWarnings(spec.Warnings);
            var warnings = spec.Warnings.Count == 0 ? "" : $", {spec.Warnings.Count} warning{(spec.Warnings.Count == 1 ? "" : "s")}";
            AnsiConsole.MarkupLineInterpolated($"[green]valid[/]: system '{spec.Name}'{(spec.Environment is null ? "" : $" (environment {spec.Environment})")}, {spec.Services.Count} services, {spec.Services.Sum(s => s.Instances)} instances{warnings}");
            return 0;
        });
        return command;
    }
}
