namespace Flotilla.Model;

/// <summary>
/// A service's own logical database: on <see cref="Engine"/> (a name under <c>engines:</c>), or a
/// SQLite file when that is null. <see cref="Name"/> names the database and the injected
/// <c>ConnectionStrings__NAME</c>; <see cref="Migrations"/> is the absolute directory of its ordered
/// SQL files, applied before a new revision's instances start.
/// </summary>
public sealed record DatabaseSpec(string Name, string? Engine, string? Migrations, SpecLocation At)
{
    public const string NameHelp = "lower-case letters, digits and '_', starting with a letter, at most 40 characters";

    /// <summary>A service name as a database name: '-' is not valid in an environment variable or an unquoted SQL name.</summary>
    public static string DefaultName(string service) => service.Replace('-', '_');

    public static bool IsName(string name) => System.Text.RegularExpressions.Regex.IsMatch(name, "^[a-z][a-z0-9_]{0,39}$");
}
