using Microsoft.Data.Sqlite;

namespace Flotilla.Store;

/// <summary>
/// The control plane's durable state in one SQLite file (WAL, synchronous=FULL): revisions,
/// desired-state overrides, instances, events, audit and tokens. Every write is its own
/// committed transaction before the call returns, so a kill -9 loses nothing that was
/// acknowledged. One connection behind a lock: writes are rare and small, and SQLite
/// serialises writers anyway.
/// </summary>
public sealed partial class StateStore : IDisposable
{
    public const string FileName = "flotilla.db";
    private readonly SqliteConnection _connection;
    private readonly Lock _gate = new();

    private StateStore(SqliteConnection connection, string path, bool created)
    {
        _connection = connection;
        Path = path;
        Created = created;
    }

    public string Path { get; }

    /// <summary>True when this open created the store (first start).</summary>
    public bool Created { get; }

    public static StateStore Open(string directory)
    {
        Directory.CreateDirectory(directory);
        var path = System.IO.Path.Combine(directory, FileName);
        var created = !File.Exists(path);
        var connection = new SqliteConnection(new SqliteConnectionStringBuilder { DataSource = path, Pooling = false }.ToString());
        try
        {
            connection.Open();
            Execute(connection, "PRAGMA journal_mode=WAL; PRAGMA synchronous=FULL; PRAGMA foreign_keys=ON; PRAGMA busy_timeout=5000;");
            StoreMigrations.Apply(connection);
        }
        catch
        {
            connection.Dispose();
            throw;
        }
        // The WAL and its index hold the latest writes and were created before any chmod (with the umask's 0644): private
        // too, also in a store made by an older version (instance users would otherwise read them, see Isolation/InstanceUsers).
        foreach (var file in new[] { path, path + "-wal", path + "-shm" }.Where(File.Exists))
        {
            File.SetUnixFileMode(file, UnixFileMode.UserRead | UnixFileMode.UserWrite);
        }
        return new StateStore(connection, path, created);
    }

    /// <summary>The store's schema version (the number of migrations applied).</summary>
    public int SchemaVersion => Read(c => Convert.ToInt32(Scalar(c, "PRAGMA user_version"), System.Globalization.CultureInfo.InvariantCulture));

    private T Read<T>(Func<SqliteConnection, T> read)
    {
        lock (_gate)
        {
            return read(_connection);
        }
    }

    /// <summary>Runs <paramref name="write"/> in one transaction, committed before returning.</summary>
    private T Write<T>(Func<SqliteConnection, SqliteTransaction, T> write)
    {
        lock (_gate)
        {
            using var transaction = _connection.BeginTransaction();
            var result = write(_connection, transaction);
            transaction.Commit();
            return result;
        }
    }

    private void Write(Action<SqliteConnection, SqliteTransaction> write) => Write<object?>((c, t) =>
    {
        write(c, t);
        return null;
    });

    internal static void Execute(SqliteConnection connection, string sql, SqliteTransaction? transaction = null, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(connection, sql, transaction, parameters);
        command.ExecuteNonQuery();
    }

    internal static object? Scalar(SqliteConnection connection, string sql, SqliteTransaction? transaction = null, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(connection, sql, transaction, parameters);
        return command.ExecuteScalar();
    }

    internal static List<T> Query<T>(SqliteConnection connection, string sql, Func<SqliteDataReader, T> map, params (string Name, object? Value)[] parameters)
    {
        using var command = Command(connection, sql, null, parameters);
        using var reader = command.ExecuteReader();
        var rows = new List<T>();
        while (reader.Read())
        {
            rows.Add(map(reader));
        }
        return rows;
    }

    private static SqliteCommand Command(SqliteConnection connection, string sql, SqliteTransaction? transaction, (string Name, object? Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        command.Transaction = transaction;
        foreach (var (name, value) in parameters)
        {
            command.Parameters.AddWithValue(name, value ?? DBNull.Value);
        }
        return command;
    }

    private static string? NullableString(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetString(ordinal);

    private static long? NullableLong(SqliteDataReader reader, int ordinal) => reader.IsDBNull(ordinal) ? null : reader.GetInt64(ordinal);

    private static DateTimeOffset Time(SqliteDataReader reader, int ordinal) => DateTimeOffset.FromUnixTimeMilliseconds(reader.GetInt64(ordinal));

    public void Dispose()
    {
        lock (_gate)
        {
            _connection.Dispose();
        }
    }
}
