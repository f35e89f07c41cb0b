using System.Text.RegularExpressions;

namespace Flotilla.Model;

/// <summary>Naming rules shared by the spec and the injected environment contract.</summary>
public static partial class Names
{
    public const string ServiceNameHelp = "lower-case letters, digits and '-', starting with a letter, at most 40 characters";

    [GeneratedRegex("^[a-z][a-z0-9-]{0,39}$")]
    private static partial Regex ServiceNamePattern();

    [GeneratedRegex("^[A-Za-z_][A-Za-z0-9_]*$")]
    private static partial Regex EnvNamePattern();

    public static bool IsServiceName(string name) => ServiceNamePattern().IsMatch(name) && !name.EndsWith('-');

    public static bool IsEnvName(string name) => EnvNamePattern().IsMatch(name);

    /// <summary>The <c>ORDERS_URL</c>-style variable name of a service.</summary>
    public static string UrlVariable(string service) => service.ToUpperInvariant().Replace('-', '_') + "_URL";

    public static int EditDistance(string a, string b)
    {
        var row = Enumerable.Range(0, b.Length + 1).ToArray();
        for (var i = 1; i <= a.Length; i++)
        {
            var diagonal = row[0];
            row[0] = i;
            for (var j = 1; j <= b.Length; j++)
            {
                var above = row[j];
                row[j] = Math.Min(Math.Min(row[j] + 1, row[j - 1] + 1), diagonal + (a[i - 1] == b[j - 1] ? 0 : 1));
                diagonal = above;
            }
        }
        return row[b.Length];
    }
}
