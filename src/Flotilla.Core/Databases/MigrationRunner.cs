using System.Data.Common;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Flotilla.Databases;

/// <summary>
/// Applies a service's pending migrations in one transaction with the history rows, so a failure
/// leaves the database as it was. The lease is the database's own lock, held by the transaction:
/// on PostgreSQL a transaction-scoped advisory lock, waited for at most <see cref="LockTimeout"/>;
/// on SQLite the write lock of <c>BEGIN IMMEDIATE</c>. Both end with the connection, so a control
/// plane that dies mid-migration rolls back and leaves no lock behind (the failure mode of the
/// lock tables of Liquibase and EF Core), and a second control plane waits and then finds the work done.
/// </summary>
internal static class MigrationRunner
{
    public const string HistoryTable = "flotilla_migrations";
    public static readonly TimeSpan LockTimeout = TimeSpan.FromSeconds(30);

    // Any constant works: it only has to be the same for every migrator of this database.
    private const long AdvisoryLockKey = 0x466c6f74696c6c61; // "Flotilla"

    /// <summary>Applies what is pending (or with <paramref name="dryRun"/> only says what would be), returning the files applied.</summary>
    public static async Task<IReadOnlyList<MigrationFile>> RunAsync(DbConnection connection, IReadOnlyList<MigrationFile> files, string appliedBy, bool dryRun, CancellationToken cancellationToken, string? contractBlocked = null)
    {
        var postgres = connection is NpgsqlConnection;
        if (connection.State != System.Data.ConnectionState.Open)
        {
            await connection.OpenAsync(cancellationToken);
        }
        await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
        if (postgres)
        {
            await ExecuteAsync(connection, transaction, $"SET LOCAL lock_timeout = '{(int)LockTimeout.TotalMilliseconds}ms'", cancellationToken);
            try
            {
                await ExecuteAsync(connection, transaction, $"SELECT pg_advisory_xact_lock({AdvisoryLockKey})", cancellationToken);
            }
            catch (PostgresException e) when (e.SqlState == PostgresErrorCodes.LockNotAvailable)
            {
                throw new MigrationException($"another migrator has held this database's migration lock for over {LockTimeout.TotalSeconds:0} s (another control plane is migrating it); try again when it is done", e);
            }
        }
        var timestamp = postgres ? "timestamptz" : "text";
        await ExecuteAsync(connection, transaction,
            $"CREATE TABLE IF NOT EXISTS {HistoryTable} (version bigint PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at {timestamp} NOT NULL, applied_by text NOT NULL)", cancellationToken);
        var plan = MigrationPlanner.Plan(files, await HistoryAsync(connection, transaction, cancellationToken), contractBlocked);
        if (plan.Refusal is { } refusal)
        {
            throw new MigrationException(refusal);
        }
        if (dryRun || plan.Pending.Count == 0)
        {
            await transaction.RollbackAsync(cancellationToken);
            return plan.Pending;
        }
        foreach (var file in plan.Pending)
        {
            // PostgreSQL's statements one by one, to say which line failed; SQLite's file as one (its triggers hold ';').
            foreach (var (offset, statement) in postgres ? SqlStatements.Split(file.Sql) : [(0, file.Sql)])
            {
                try
                {
                    await ExecuteAsync(connection, transaction, statement, cancellationToken);
                }
                catch (DbException e) when (e is PostgresException or SqliteException)
                {
                    throw new MigrationException($"{file.Path}{LineOf(file, offset, e)}: migration {file.Name} failed, nothing of this apply's migrations was committed: {Message(e)}", e);
                }
            }
            await using var record = connection.CreateCommand();
            record.Transaction = transaction;
            record.CommandText = $"INSERT INTO {HistoryTable} (version, name, checksum, applied_at, applied_by) VALUES ($1, $2, $3, $4, $5)";
            foreach (var value in new object[] { file.Version, file.Name, file.Checksum, postgres ? DateTimeOffset.UtcNow : DateTimeOffset.UtcNow.ToString("O"), appliedBy })
            {
                var parameter = record.CreateParameter();
                parameter.Value = value;
                if (!postgres)
                {
                    parameter.ParameterName = $"${record.Parameters.Count + 1}";
                }
                record.Parameters.Add(parameter);
            }
            await record.ExecuteNonQueryAsync(cancellationToken);
        }
        await transaction.CommitAsync(cancellationToken);
        return plan.Pending;
    }

    /// <summary>The history as the database has it (an empty list before the first migration).</summary>
    public static async Task<IReadOnlyList<AppliedMigration>> HistoryAsync(DbConnection connection, DbTransaction? transaction, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = $"SELECT version, name, checksum, applied_at, applied_by FROM {HistoryTable} ORDER BY version";
        var rows = new List<AppliedMigration>();
        await using var reader = await command.ExecuteReaderAsync(cancellationToken);
        while (await reader.ReadAsync(cancellationToken))
        {
            var at = reader.GetValue(3) switch
            {
                DateTime time => new DateTimeOffset(DateTime.SpecifyKind(time, DateTimeKind.Utc)),
                DateTimeOffset offset => offset,
                var text => DateTimeOffset.Parse((string)text, System.Globalization.CultureInfo.InvariantCulture),
            };
            rows.Add(new AppliedMigration(reader.GetInt64(0), reader.GetString(1), reader.GetString(2), at, reader.GetString(4)));
        }
        return rows;
    }

    private static async Task ExecuteAsync(DbConnection connection, DbTransaction transaction, string sql, CancellationToken cancellationToken)
    {
        await using var command = connection.CreateCommand();
        command.Transaction = transaction;
        command.CommandText = sql;
        // A backfill of a large table takes what it takes: no client-side timeout (the lock wait has its own).
        command.CommandTimeout = 0;
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>":LINE" of the failing statement, or of where PostgreSQL points inside it.</summary>
    private static string LineOf(MigrationFile file, int offset, Exception error)
    {
        if (error is not PostgresException e)
        {
            return "";
        }
        var at = Math.Min(file.Sql.Length, offset + Math.Max(0, e.Position - 1));
        return ":" + (file.Sql.AsSpan(0, at).Count('\n') + 1);
    }

    private static string Message(Exception error) => error switch
    {
        PostgresException e => $"{e.SqlState}: {e.MessageText}{(e.Detail is { } d ? $" ({d})" : "")}",
        SqliteException e => e.Message,
        _ => error.Message,
    };
}
