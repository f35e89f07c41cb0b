using static Flotilla.Flags.Logic.LogicValue;

namespace Flotilla.Flags.Logic;

/// <summary>flagd's evaluated arguments, in order, and what the rule is evaluated against.</summary>
internal delegate object? FlagdBody(ReadOnlySpan<object?> values, in LogicScope scope);

/// <summary>
/// flagd's own operators sem_ver, starts_with and ends_with (fractional has its own node), as
/// flagd's current evaluator runs them: anything they cannot use (a wrong number of arguments, a
/// value of another type, an unknown sem_ver operator) answers null, not false, so the flag falls
/// back to its default variant instead of looking for a variant named "false".
/// </summary>
internal static class FlagdOperators
{
    public static readonly string[] SemVerOperators = ["=", "!=", "<", "<=", ">", ">=", "^", "~"];

    /// <summary>Each operator with the argument count flagd wants (to warn at load) and its body.</summary>
    public static readonly IReadOnlyDictionary<string, (int Arguments, FlagdBody Body)> All = new Dictionary<string, (int, FlagdBody)>(StringComparer.Ordinal)
    {
        ["sem_ver"] = (3, SemVer),
        ["starts_with"] = (2, (ReadOnlySpan<object?> v, in LogicScope _) =>
            v is [string text, string prefix] ? Bool(text.StartsWith(prefix, StringComparison.Ordinal)) : null),
        ["ends_with"] = (2, (ReadOnlySpan<object?> v, in LogicScope _) =>
            v is [string text, string suffix] ? Bool(text.EndsWith(suffix, StringComparison.Ordinal)) : null),
    };

    private static object? SemVer(ReadOnlySpan<object?> values, in LogicScope scope)
    {
        if (values is not [var actualValue, string op, var targetValue] || Version(actualValue) is not { } actual || Version(targetValue) is not { } target)
        {
            return null;
        }
        var c = actual.CompareTo(target);
        return op switch
        {
            "=" => Bool(c == 0),
            "!=" => Bool(c != 0),
            "<" => Bool(c < 0),
            "<=" => Bool(c <= 0),
            ">" => Bool(c > 0),
            ">=" => Bool(c >= 0),
            "^" => Bool(actual.Major == target.Major),
            "~" => Bool(actual.Major == target.Major && actual.Minor == target.Minor),
            _ => null,
        };
    }

    /// <summary>
    /// A value as flagd reads a version: a string as it is, a number as Go prints it (2 is "2");
    /// a "v" is added unless there is one, and a leading "V" becomes it. Anything else is no version.
    /// </summary>
    public static GoSemVer? Version(object? value) => value switch
    {
        string text => GoSemVer.Parse(WithV(text)),
        double number => GoSemVer.Parse(WithV(GoNumber.Format(number))),
        _ => null,
    };

    private static string WithV(string text) => text.StartsWith('v') ? text : "v" + (text.StartsWith('V') ? text[1..] : text);
}
