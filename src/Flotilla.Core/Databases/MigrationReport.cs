using System.Data.Common;
using Flotilla.Model;
using Microsoft.Data.Sqlite;
using Npgsql;

namespace Flotilla.Databases;

/// <summary>
/// What <c>flotilla db migrate SERVICE --dry-run</c> shows: the history a database has, the files the
/// next apply would run, or why it would refuse them. Read in a transaction that is rolled back,
/// so asking changes nothing (not even the history table of a database never migrated).
/// </summary>
public sealed record MigrationReport(string Service, IReadOnlyList<AppliedMigration> Applied, IReadOnlyList<string> Pending, string? Refusal)
{
    public static async Task<MigrationReport> ReadAsync(string service, DatabaseSpec database, string ownerConnectionString, CancellationToken cancellationToken)
    {
        var files = database.Migrations is { } directory ? MigrationSet.Read(directory) : [];
        await using DbConnection connection = database.Engine is null
            ? new SqliteConnection(new SqliteConnectionStringBuilder(ownerConnectionString) { Pooling = false, Mode = SqliteOpenMode.ReadWrite }.ToString())
            : new NpgsqlConnection(new NpgsqlConnectionStringBuilder(ownerConnectionString) { Pooling = false, Timeout = 5 }.ToString());
        try
        {
            await connection.OpenAsync(cancellationToken);
            await using var transaction = await connection.BeginTransactionAsync(cancellationToken);
            await using (var create = connection.CreateCommand())
            {
                create.Transaction = transaction;
                create.CommandText = $"CREATE TABLE IF NOT EXISTS {MigrationRunner.HistoryTable} (version bigint PRIMARY KEY, name text NOT NULL, checksum text NOT NULL, applied_at {(database.Engine is null ? "text" : "timestamptz")} NOT NULL, applied_by text NOT NULL)";
                await create.ExecuteNonQueryAsync(cancellationToken);
            }
            var applied = await MigrationRunner.HistoryAsync(connection, transaction, cancellationToken);
            await transaction.RollbackAsync(cancellationToken);
            var plan = MigrationPlanner.Plan(files, applied);
            return new MigrationReport(service, applied, [.. plan.Pending.Select(f => f.Name)], plan.Refusal);
        }
        catch (Exception e) when (e is NpgsqlException or SqliteException or TimeoutException)
        {
            throw new DatabaseException($"service '{service}': its database {database.Name} on {database.Engine ?? "SQLite"} cannot be read: {e.Message}", e);
        }
    }
}
