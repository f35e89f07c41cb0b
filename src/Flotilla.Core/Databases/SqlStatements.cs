namespace Flotilla.Databases;

/// <summary>
/// Splits a PostgreSQL migration into its statements, with where each starts, so a failure can be
/// reported at its file's line. Knows what may hide a ';': quotes, quoted names, dollar quotes
/// (function bodies) and comments. (SQL-standard BEGIN ATOMIC bodies are not split correctly:
/// write those with $$ quotes.)
/// </summary>
internal static class SqlStatements
{
    public static IReadOnlyList<(int Offset, string Text)> Split(string sql)
    {
        var statements = new List<(int, string)>();
        var start = 0;
        var i = 0;
        while (i < sql.Length)
        {
            var c = sql[i];
            if (c == '-' && At(sql, i, "--"))
            {
                i = IndexOrEnd(sql, "\n", i);
            }
            else if (c == '/' && At(sql, i, "/*"))
            {
                i = IndexOrEnd(sql, "*/", i + 2) + 2;
            }
            else if (c is '\'' or '"')
            {
                i = IndexOrEnd(sql, c.ToString(), i + 1) + 1; // a doubled quote closes and reopens: the same result
            }
            else if (c == '$' && DollarTag(sql, i) is { } tag)
            {
                i = IndexOrEnd(sql, tag, i + tag.Length) + tag.Length;
            }
            else if (c == ';')
            {
                Add(statements, sql, start, i);
                start = ++i;
            }
            else
            {
                i++;
            }
        }
        Add(statements, sql, start, Math.Min(i, sql.Length));
        return statements;
    }

    private static void Add(List<(int, string)> statements, string sql, int start, int end)
    {
        var text = sql[start..end];
        if (!IsOnlyCommentsOrSpace(text))
        {
            var lead = text.Length - text.TrimStart().Length;
            statements.Add((start + lead, text.Trim()));
        }
    }

    private static bool IsOnlyCommentsOrSpace(string text) =>
        text.Split('\n').Select(l => l.Trim()).All(l => l.Length == 0 || l.StartsWith("--", StringComparison.Ordinal));

    private static bool At(string sql, int i, string token) => string.CompareOrdinal(sql, i, token, 0, token.Length) == 0;

    private static int IndexOrEnd(string sql, string token, int from)
    {
        var at = from <= sql.Length ? sql.IndexOf(token, from, StringComparison.Ordinal) : -1;
        return at < 0 ? sql.Length : at;
    }

    /// <summary>"$$" or "$name$" at <paramref name="i"/> (not a "$1" parameter).</summary>
    private static string? DollarTag(string sql, int i)
    {
        var end = i + 1;
        while (end < sql.Length && (char.IsLetterOrDigit(sql[end]) || sql[end] == '_'))
        {
            end++;
        }
        return end < sql.Length && sql[end] == '$' && (end == i + 1 || !char.IsDigit(sql[i + 1])) ? sql[i..(end + 1)] : null;
    }
}
