using Flotilla.Model;
using Spectre.Console;

namespace Flotilla.Cli.Output;

/// <summary>Prints spec errors the way compilers do: <c>file:line:column: path: message</c>, one per line.</summary>
internal static class SpecErrorPrinter
{
    public static void Print(SpecException e)
    {
        foreach (var error in e.Errors)
        {
            var path = error.Path.Length == 0 ? "" : $"{error.Path}: ";
            AnsiConsole.MarkupLineInterpolated($"[red]error[/] {RelativeFile(error.At.File)}:{error.At.Line}:{error.At.Column}: {path}{error.Message}");
        }
        AnsiConsole.MarkupLineInterpolated($"[red]{e.Errors.Count} error{(e.Errors.Count == 1 ? "" : "s")}[/]");
    }

    private static string RelativeFile(string file)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, file);
        return relative.StartsWith("..", StringComparison.Ordinal) ? file : relative;
    }
}
