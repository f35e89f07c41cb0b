using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

/// <summary>
/// Orders in the service's own database. Flotilla gives the connection string as
/// ConnectionStrings__orders (read here with GetConnectionString, as Aspire's components do): a
/// SQLite file by default, PostgreSQL where an environment puts the database on an engine. The SQL
/// is the same on both; the schema is the migrations' (examples/shop/db/orders), applied by Flotilla
/// before an instance of a revision starts.
/// </summary>
internal sealed class OrderStore(string connectionString)
{
    private readonly bool _sqlite = connectionString.StartsWith("Data Source=", StringComparison.OrdinalIgnoreCase);

    public string Engine => _sqlite ? "sqlite" : "postgres";

    public async Task<Order?> FindAsync(long id, CancellationToken cancellationToken)
    {
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, "SELECT item_id, quantity, status FROM orders WHERE id = @id", ("id", id));
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        return await reader.ReadAsync(cancellationToken) ? new Order(id, reader.GetInt32(0), reader.GetInt32(1), reader.GetString(2)) : null;
    }

    public async Task<Order> AddAsync(int itemId, int quantity, CancellationToken cancellationToken)
    {
        // 53 bits: an id a JavaScript client reads exactly; chosen here so the SQL needs no dialect's sequence.
        var id = Random.Shared.NextInt64(1_000, 1L << 53);
        await using var connection = await OpenAsync(cancellationToken);
        await using var command = Command(connection, "INSERT INTO orders (id, item_id, quantity) VALUES (@id, @item, @quantity)", ("id", id), ("item", itemId), ("quantity", quantity));
        await command.ExecuteNonQueryAsync(cancellationToken);
        return new Order(id, itemId, quantity, "placed");
    }

    /// <summary>Ready only while the database answers: an instance that cannot reach it gets no traffic.</summary>
    public async Task<bool> PingAsync(CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = await OpenAsync(cancellationToken);
            await using var command = Command(connection, "SELECT 1");
            await command.ExecuteScalarAsync(cancellationToken);
            return true;
        }
        catch (DbException)
        {
            return false;
        }
    }

    private async Task<DbConnection> OpenAsync(CancellationToken cancellationToken)
    {
        DbConnection connection = _sqlite ? new SqliteConnection(connectionString) : new NpgsqlConnection(connectionString);
        await connection.OpenAsync(cancellationToken);
        return connection;
    }

    private static DbCommand Command(DbConnection connection, string sql, params (string Name, object Value)[] parameters)
    {
        var command = connection.CreateCommand();
        command.CommandText = sql;
        foreach (var (name, value) in parameters)
        {
            var parameter = command.CreateParameter();
            parameter.ParameterName = name;
            parameter.Value = value;
            command.Parameters.Add(parameter);
        }
        return command;
    }
}

internal sealed record Order(long Id, int ItemId, int Quantity, string Status);
