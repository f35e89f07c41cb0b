using System.Globalization;

namespace Flotilla.Controllers.Inboxes;

/// <summary>
/// Where a watched directory's files go: taken files wait in <c>.flotilla/claimed/</c> (a dot
/// folder, so never taken again) under a unique name <c>{unix ms}-{name}</c>, which they keep in
/// <c>processed/</c> or <c>failed/</c> (beside a <c>.reason</c> file) once their outcome is known.
/// </summary>
public static class InboxPaths
{
    public static string Claimed(string inbox) => Path.Combine(inbox, ".flotilla", "claimed");

    public static string Processed(string inbox) => Path.Combine(inbox, "processed");

    public static string Failed(string inbox) => Path.Combine(inbox, "failed");

    /// <summary>A file being written is never taken: dot files, and names a writer renames from (.tmp, .part, .partial, .crdownload).</summary>
    public static bool IsIgnored(string name) =>
        name.StartsWith('.') || name.EndsWith('~')
        || new[] { ".tmp", ".part", ".partial", ".crdownload", ".swp" }.Any(suffix => name.EndsWith(suffix, StringComparison.OrdinalIgnoreCase));

    /// <summary>A claimed name unique in the inbox: the time taken, then the dropped name.</summary>
    public static string UniqueName(string claimed, string name, DateTimeOffset now)
    {
        for (var ms = now.ToUnixTimeMilliseconds(); ; ms++)
        {
            var candidate = $"{ms.ToString(CultureInfo.InvariantCulture)}-{name}";
            if (!File.Exists(Path.Combine(claimed, candidate)))
            {
                return candidate;
            }
        }
    }

    /// <summary>The name the file was dropped under, from a claimed path.</summary>
    public static string OriginalName(string claimedPath)
    {
        var name = Path.GetFileName(claimedPath);
        var dash = name.IndexOf('-', StringComparison.Ordinal);
        return dash > 0 && name[..dash].All(char.IsAsciiDigit) ? name[(dash + 1)..] : name;
    }
}
