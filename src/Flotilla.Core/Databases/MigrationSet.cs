using System.Security.Cryptography;
using System.Text;
using System.Text.RegularExpressions;

namespace Flotilla.Databases;

/// <summary>
/// Reads a migrations directory: every <c>*.sql</c> file must start with its version number
/// (<c>001_create.sql</c>), versions are unique, and files apply in version order. A file that does
/// not follow this is refused rather than skipped, so nothing is silently left out.
/// </summary>
internal static partial class MigrationSet
{
    public const string ContractMarker = "-- flotilla: contract";

    [GeneratedRegex(@"^(\d+)_[A-Za-z0-9_.-]+\.sql$")]
    private static partial Regex FileName();

    public static IReadOnlyList<MigrationFile> Read(string directory)
    {
        var files = new List<MigrationFile>();
        foreach (var path in Directory.GetFiles(directory, "*.sql"))
        {
            var name = Path.GetFileName(path);
            var match = FileName().Match(name);
            if (!match.Success || !long.TryParse(match.Groups[1].Value, out var version))
            {
                throw new MigrationException($"migration {path}: the name must be NUMBER_words.sql (e.g. 001_create_orders.sql), so that its order is plain; rename it");
            }
            var sql = File.ReadAllText(path);
            var checksum = Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(sql.ReplaceLineEndings("\n"))));
            var contract = sql.Split('\n').Select(l => l.Trim()).TakeWhile(l => l.StartsWith("--", StringComparison.Ordinal) || l.Length == 0)
                .Any(l => l.Equals(ContractMarker, StringComparison.OrdinalIgnoreCase));
            files.Add(new MigrationFile(version, name, path, sql, checksum, contract));
        }
        foreach (var clash in files.GroupBy(f => f.Version).Where(g => g.Count() > 1))
        {
            throw new MigrationException($"migrations {string.Join(" and ", clash.Select(f => f.Name))} in {directory} have the same version {clash.Key}; give each its own number");
        }
        return [.. files.OrderBy(f => f.Version)];
    }
}
