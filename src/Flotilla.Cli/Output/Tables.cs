using System.Globalization;
using Spectre.Console;

namespace Flotilla.Cli.Output;

/// <summary>The plain tables of the client verbs (ps, diff, history): same border, same formats.</summary>
internal static class Tables
{
    public static Table Create(params string[] columns)
    {
        var table = new Table().Border(TableBorder.Simple);
        foreach (var column in columns)
        {
            table.AddColumn(column);
        }
        return table;
    }

    /// <summary>Cells as literal text: nothing in them is taken for markup.</summary>
    public static string[] Cells(params string[] values) => values.Select(Markup.Escape).ToArray();

    public static string Age(DateTimeOffset since)
    {
        var age = DateTimeOffset.UtcNow - since;
        return age.TotalSeconds < 60 ? $"{age.TotalSeconds:0}s" : age.TotalMinutes < 60 ? $"{age.TotalMinutes:0}m" : age.TotalHours < 48 ? $"{age.TotalHours:0}h" : $"{age.TotalDays:0}d";
    }

    public static string When(DateTimeOffset at) => at.ToLocalTime().ToString("yyyy-MM-dd HH:mm:ss", CultureInfo.InvariantCulture);

    public static string Commit(string? commit) => commit is null ? "-" : commit[..Math.Min(12, commit.Length)];
}
