using System.Text.RegularExpressions;

namespace Flotilla.Runtime;

/// <summary>Expands <c>${VAR}</c> in a command and finds its program, so a bad command fails with a clear reason.</summary>
internal static partial class CommandLine
{
    [GeneratedRegex(@"\$\{([A-Za-z_][A-Za-z0-9_]*)\}")]
    private static partial Regex Variable();

    /// <summary>The command with variables expanded; throws naming the first unknown variable.</summary>
    public static IReadOnlyList<string> Expand(IReadOnlyList<string> command, IReadOnlyDictionary<string, string> env) =>
        command.Select(arg => Variable().Replace(arg, m => env.TryGetValue(m.Groups[1].Value, out var value)
            ? value
            : throw new InvalidOperationException($"command uses ${{{m.Groups[1].Value}}}, which is not set; set it under 'env:' or use PORT, ARTIFACT, FLOTILLA_INSTANCE"))).ToList();

    /// <summary>The absolute path of the program, or null when it cannot be found.</summary>
    public static string? Resolve(string program, string workingDirectory, string? path)
    {
        if (program.Contains('/'))
        {
            var full = Path.GetFullPath(program, workingDirectory);
            return File.Exists(full) ? full : null;
        }
        foreach (var dir in (path ?? "").Split(':', StringSplitOptions.RemoveEmptyEntries))
        {
            var candidate = Path.Combine(dir, program);
            if (File.Exists(candidate) && (File.GetUnixFileMode(candidate) & (UnixFileMode.UserExecute | UnixFileMode.GroupExecute | UnixFileMode.OtherExecute)) != 0)
            {
                return candidate;
            }
        }
        return null;
    }
}
