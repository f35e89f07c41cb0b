using Flotilla.Model;
using Npgsql;

namespace Flotilla.Databases;

/// <summary>
/// The credentials of a person's session on a service's database, from what provisioning keeps in
/// the secret store. Read-write is the owner's role (a fix at 3 a.m. may need the schema);
/// read-only is the application's role on a replica when there is one (read-only by nature), else
/// on the primary with every transaction read-only (a guard against a slip, not a permission:
/// <c>SET</c> lifts it). On SQLite it is the file, opened read-only by sqlite3 when asked.
/// </summary>
public static class DatabaseSessions
{
    public const string ReadOnlyOptions = "-c default_transaction_read_only=on";

    /// <param name="replicaPorts">The ports of the database's engine's replicas (none: none, or an external engine).</param>
    /// <param name="primaryPort">The port of the engine's primary now (a multi-host string names them all), or null: the string's own port.</param>
    public static DatabaseSession For(string service, DatabaseSpec database, Func<string, string?> secret, IReadOnlyList<int> replicaPorts, bool readOnly, int? primaryPort = null)
    {
        var name = readOnly ? DatabaseSecretNames.App(service) : DatabaseSecretNames.Owner(service);
        var text = secret(name) ?? throw new DatabaseException($"service '{service}': its database was never provisioned (secret '{name}' is missing): apply the spec first");
        if (database.Engine is null)
        {
            var file = new Microsoft.Data.Sqlite.SqliteConnectionStringBuilder(text).DataSource;
            return new DatabaseSession(service, "sqlite", readOnly, null, null, database.Name, null, null, file, null);
        }
        var builder = new NpgsqlConnectionStringBuilder(text);
        var port = readOnly && replicaPorts.Count > 0 ? replicaPorts[0] : primaryPort ?? builder.Port;
        // psql takes one host: the first of a multi-host string ("127.0.0.1:5432,127.0.0.1:5433"), without its port.
        var host = FirstHost(builder.Host);
        return new DatabaseSession(service, EngineSpec.Postgres, readOnly, host, port, builder.Database, builder.Username, builder.Password, null, readOnly ? ReadOnlyOptions : null);
    }

    /// <summary>The first host of Npgsql's Host (<c>h1:p1,h2:p2</c>), without its port; an IPv6 address is left whole unless bracketed.</summary>
    internal static string? FirstHost(string? hosts)
    {
        var first = hosts?.Split(',')[0].Trim();
        if (first is null)
        {
            return null;
        }
        var colon = first.LastIndexOf(':');
        var bracketed = first.StartsWith('[') && colon > 0 && first[colon - 1] == ']';
        if (colon > 0 && first[(colon + 1)..].All(char.IsAsciiDigit) && (bracketed || first.IndexOf(':') == colon))
        {
            first = first[..colon];
        }
        return first.Trim('[', ']');
    }
}
