using Flotilla.Model;

namespace Flotilla.Cli.Output;

/// <summary>
/// Prints spec errors and warnings to stderr the way compilers do, <c>file:line:column: path: message</c>,
/// one unwrapped line each, so editors and grep can jump to them.
/// </summary>
internal static class SpecErrorPrinter
{
    /// <summary>Loads a spec, or prints its errors and returns null.</summary>
    public static SystemSpec? TryLoad(string path, string? environment)
    {
        try
        {
            var spec = SpecLoader.Load(path, environment);
            if (spec.Clusters.Count > 0)
            {
                // Each cluster's own spec, so validate finds what an apply would refuse (ports two clusters share, an image on a local one).
                _ = ClusterOverlay.All(spec);
            }
            return spec;
        }
        catch (SpecException e)
        {
            Print(e);
            return null;
        }
    }

    public static void Print(SpecException e)
    {
        foreach (var error in e.Errors)
        {
            Line(Label("error", 31), error);
        }
        Console.Error.WriteLine($"{e.Errors.Count} error{(e.Errors.Count == 1 ? "" : "s")}");
    }

    /// <summary>Warnings of a spec that is used anyway (flag rules served as flagd serves them).</summary>
    public static void PrintWarnings(IReadOnlyList<SpecError> warnings)
    {
        foreach (var warning in warnings)
        {
            Line(Label("warning", 33), warning);
        }
    }

    /// <summary>Warnings as the API answers them, already <c>file:line:column: path: message</c>.</summary>
    public static void PrintWarnings(IReadOnlyList<string>? warnings)
    {
        foreach (var warning in warnings ?? [])
        {
            Console.Error.WriteLine($"{Label("warning", 33)} {warning}");
        }
    }

    private static string Label(string text, int colour) => Console.IsErrorRedirected ? text : $"\u001b[{colour}m{text}\u001b[0m";

    private static void Line(string label, SpecError problem)
    {
        var path = problem.Path.Length == 0 ? "" : $"{problem.Path}: ";
        Console.Error.WriteLine($"{label} {RelativeFile(problem.At.File)}:{problem.At.Line}:{problem.At.Column}: {path}{problem.Message}");
    }

    private static string RelativeFile(string file)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, file);
        return relative.StartsWith("..", StringComparison.Ordinal) ? file : relative;
    }
}
