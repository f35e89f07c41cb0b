using Microsoft.Data.Sqlite;

namespace Flotilla.Databases;

/// <summary>
/// A service's SQLite database: <c>databases/SERVICE/NAME.db</c> under the data directory, outside
/// any instance's own directory so it survives instance replacement. The directory is 0700 and the
/// file 0600: no other Unix user opens it. With instance users (Flotilla as root), both are the
/// service's own user's, so no other service's instance can open it; without them every instance runs
/// as Flotilla's user and this is a convention the file system does not enforce.
/// </summary>
internal static class SqliteDatabases
{
    public static string PathOf(string dataDirectory, string service, string database) => Path.Combine(dataDirectory, "databases", service, database + ".db");

    public static string ConnectionString(string path) => new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate }.ToString();

    /// <summary>Creates the file (in WAL mode, so instances read while one writes) when it is missing; returns the connection string.</summary>
    /// <param name="owner">The service's instance user, or null when instances share Flotilla's user.</param>
    public static string Ensure(string dataDirectory, string service, string database, Isolation.InstanceUser? owner = null)
    {
        var path = PathOf(dataDirectory, service, database);
        var directory = Path.GetDirectoryName(path)!;
        Directory.CreateDirectory(Path.GetDirectoryName(directory)!);
        Directory.CreateDirectory(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        File.SetUnixFileMode(directory, UnixFileMode.UserRead | UnixFileMode.UserWrite | UnixFileMode.UserExecute);
        if (!File.Exists(path))
        {
            using var create = new FileStream(path, new FileStreamOptions { Mode = FileMode.OpenOrCreate, Access = FileAccess.Write, UnixCreateMode = UnixFileMode.UserRead | UnixFileMode.UserWrite });
        }
        File.SetUnixFileMode(path, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        if (owner is not null)
        {
            // The directory too: SQLite creates the WAL's side files beside the database. (Opened by root, as
            // in migrations, SQLite gives side files it creates to the database file's owner.)
            Isolation.FileOwnership.OpenForTraversal(Path.GetDirectoryName(directory)!);
            Isolation.FileOwnership.Give(directory, owner, Isolation.FileOwnership.Private);
            Isolation.FileOwnership.Give(path, owner, Isolation.FileOwnership.PrivateFile);
        }
        var connectionString = ConnectionString(path);
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var wal = connection.CreateCommand();
        wal.CommandText = "PRAGMA journal_mode=WAL";
        wal.ExecuteNonQuery();
        return connectionString;
    }
}
