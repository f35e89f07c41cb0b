namespace Flotilla.Router.HAProxy;

/// <summary>One server's line of <c>show stat</c>: requests in flight (scur) and answers by status class, cumulative since the worker started.</summary>
internal sealed record ServerStats(string Backend, string Server, long Current, long[] Classes)
{
    /// <summary>The server lines of <c>show stat</c>'s CSV (not FRONTEND/BACKEND), by backend and server name.</summary>
    public static Dictionary<(string Backend, string Server), ServerStats> Parse(string csv)
    {
        var result = new Dictionary<(string, string), ServerStats>();
        var lines = csv.Split('\n', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries);
        if (lines.Length == 0 || !lines[0].StartsWith("# ", StringComparison.Ordinal))
        {
            return result;
        }
        var header = lines[0][2..].Split(',');
        int Column(string name) => Array.IndexOf(header, name);
        var (px, sv, scur) = (Column("pxname"), Column("svname"), Column("scur"));
        var classes = new[] { "hrsp_1xx", "hrsp_2xx", "hrsp_3xx", "hrsp_4xx", "hrsp_5xx" }.Select(Column).ToArray();
        foreach (var line in lines.Skip(1))
        {
            var fields = line.Split(',');
            if (fields.Length < header.Length - 1 || fields[sv] is "FRONTEND" or "BACKEND")
            {
                continue;
            }
            result[(fields[px], fields[sv])] = new ServerStats(fields[px], fields[sv], Number(fields[scur]), classes.Select(c => Number(fields[c])).ToArray());
        }
        return result;
    }

    private static long Number(string text) => long.TryParse(text, out var value) ? value : 0;
}
