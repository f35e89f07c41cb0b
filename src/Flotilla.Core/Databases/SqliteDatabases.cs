using Microsoft.Data.Sqlite;

namespace Flotilla.Databases;

/// <summary>
/// A service's SQLite database: <c>databases/SERVICE/NAME.db</c> under the data directory, outside
/// any instance's own directory so it survives instance replacement. The directory is 0700 and the
/// file 0600: no other Unix user opens it. Instances of one environment run as one Unix user today,
/// so between services this is a convention the file system does not enforce (per-service users: issue 20).
/// </summary>
internal static class SqliteDatabases
{
    public static string PathOf(string dataDirectory, string service, string database) => Path.Combine(dataDirectory, "databases", service, database + ".db");

    public static string ConnectionString(string path) => new SqliteConnectionStringBuilder { DataSource = path, Mode = SqliteOpenMode.ReadWriteCreate }.ToString();

    /// <summary>Creates the file (in WAL mode, so instances read while one writes) when it is missing; returns the connection string.</summary>
    public static string Ensure(string dataDirectory, string service, string database)
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
        var connectionString = ConnectionString(path);
        using var connection = new SqliteConnection(connectionString);
        connection.Open();
        using var wal = connection.CreateCommand();
        wal.CommandText = "PRAGMA journal_mode=WAL";
        wal.ExecuteNonQuery();
        return connectionString;
    }
}
