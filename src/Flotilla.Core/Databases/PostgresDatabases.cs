using System.Security.Cryptography;
using Npgsql;

namespace Flotilla.Databases;

/// <summary>
/// A service's logical database on a PostgreSQL server: the database, an owner role (owns the
/// schema, runs migrations) and a login role for the application (reads and writes the owner's
/// tables, cannot change the schema). <c>CONNECT</c> is revoked from PUBLIC, so no other role of
/// the server (another service's) can even connect. Idempotent: run at every apply, it creates
/// what is missing and sets the passwords to the ones in the secret store.
/// </summary>
internal static class PostgresDatabases
{
    public static string OwnerRole(string database) => database + "_owner";

    public static string AppRole(string database) => database + "_app";

    /// <summary>A password of 32 letters and digits: strong, and safe inside a SQL literal and a connection string.</summary>
    public static string NewPassword()
    {
        const string alphabet = "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789";
        return new string(RandomNumberGenerator.GetItems<char>(alphabet, 32));
    }

    /// <summary>A connection string for <paramref name="role"/> to <paramref name="database"/> on the server the admin string reaches.</summary>
    public static string ConnectionString(string adminConnectionString, string database, string role, string password) =>
        new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = database, Username = role, Password = password, Passfile = null }.ToString();

    public static async Task EnsureAsync(string adminConnectionString, string database, string ownerPassword, string appPassword, CancellationToken cancellationToken)
    {
        // The names are checked by the spec (lower-case letters, digits, '_'), so they are plain SQL identifiers.
        var owner = OwnerRole(database);
        var app = AppRole(database);
        await using (var admin = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(adminConnectionString) { Pooling = false }.ToString()))
        {
            await admin.OpenAsync(cancellationToken);
            await EnsureRoleAsync(admin, owner, ownerPassword, cancellationToken);
            await EnsureRoleAsync(admin, app, appPassword, cancellationToken);
            if (!await ExistsAsync(admin, "SELECT 1 FROM pg_database WHERE datname = $1", database, cancellationToken))
            {
                await IgnoringDuplicateAsync(() => ExecuteAsync(admin, $"CREATE DATABASE {database} OWNER {owner}", cancellationToken));
            }
            await ExecuteAsync(admin, $"""
                ALTER DATABASE {database} OWNER TO {owner};
                REVOKE ALL ON DATABASE {database} FROM PUBLIC;
                GRANT CONNECT, TEMPORARY ON DATABASE {database} TO {owner}, {app};
                """, cancellationToken);
        }
        // Inside the database: the public schema is the owner's (PostgreSQL 15: pg_database_owner's),
        // the application uses it and gets rights on every table and sequence the owner creates.
        await using var inside = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(adminConnectionString) { Database = database, Pooling = false }.ToString());
        await inside.OpenAsync(cancellationToken);
        await ExecuteAsync(inside, $"""
            REVOKE ALL ON SCHEMA public FROM PUBLIC;
            GRANT ALL ON SCHEMA public TO {owner};
            GRANT USAGE ON SCHEMA public TO {app};
            ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON TABLES TO {app};
            ALTER DEFAULT PRIVILEGES FOR ROLE {owner} IN SCHEMA public GRANT USAGE, SELECT, UPDATE ON SEQUENCES TO {app};
            GRANT SELECT, INSERT, UPDATE, DELETE, TRUNCATE ON ALL TABLES IN SCHEMA public TO {app};
            GRANT USAGE, SELECT, UPDATE ON ALL SEQUENCES IN SCHEMA public TO {app};
            """, cancellationToken);
    }

    private static async Task EnsureRoleAsync(NpgsqlConnection admin, string role, string password, CancellationToken cancellationToken)
    {
        if (!await ExistsAsync(admin, "SELECT 1 FROM pg_roles WHERE rolname = $1", role, cancellationToken))
        {
            await IgnoringDuplicateAsync(() => ExecuteAsync(admin, $"CREATE ROLE {role} LOGIN", cancellationToken));
        }
        // Not a superuser, cannot create roles or databases: a service's credentials reach its own database only.
        await ExecuteAsync(admin, $"ALTER ROLE {role} WITH LOGIN NOSUPERUSER NOCREATEDB NOCREATEROLE NOREPLICATION PASSWORD '{password}'", cancellationToken);
    }

    private static async Task<bool> ExistsAsync(NpgsqlConnection connection, string sql, string name, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection) { Parameters = { new() { Value = name } } };
        return await command.ExecuteScalarAsync(cancellationToken) is not null;
    }

    private static async Task ExecuteAsync(NpgsqlConnection connection, string sql, CancellationToken cancellationToken)
    {
        await using var command = new NpgsqlCommand(sql, connection);
        await command.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Two control planes provisioning at once: the second one's CREATE finds the first one's work done.</summary>
    private static async Task IgnoringDuplicateAsync(Func<Task> create)
    {
        try
        {
            await create();
        }
        catch (PostgresException e) when (e.SqlState is PostgresErrorCodes.DuplicateDatabase or PostgresErrorCodes.DuplicateObject or PostgresErrorCodes.UniqueViolation)
        {
        }
    }
}
