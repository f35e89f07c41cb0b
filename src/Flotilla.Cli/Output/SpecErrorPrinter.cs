using Flotilla.Model;

namespace Flotilla.Cli.Output;

/// <summary>
/// Prints spec errors to stderr the way compilers do, <c>file:line:column: path: message</c>,
/// one unwrapped line each, so editors and grep can jump to them.
/// </summary>
internal static class SpecErrorPrinter
{
    /// <summary>Loads a spec, or prints its errors and returns null.</summary>
    public static SystemSpec? TryLoad(string path, string? environment)
    {
        try
        {
            return SpecLoader.Load(path, environment);
        }
        catch (SpecException e)
        {
            Print(e);
            return null;
        }
    }

    public static void Print(SpecException e)
    {
        var colour = !Console.IsErrorRedirected;
        var label = colour ? "\u001b[31merror\u001b[0m" : "error";
        foreach (var error in e.Errors)
        {
            var path = error.Path.Length == 0 ? "" : $"{error.Path}: ";
            Console.Error.WriteLine($"{label} {RelativeFile(error.At.File)}:{error.At.Line}:{error.At.Column}: {path}{error.Message}");
        }
        Console.Error.WriteLine($"{e.Errors.Count} error{(e.Errors.Count == 1 ? "" : "s")}");
    }

    private static string RelativeFile(string file)
    {
        var relative = Path.GetRelativePath(Environment.CurrentDirectory, file);
        return relative.StartsWith("..", StringComparison.Ordinal) ? file : relative;
    }
}
