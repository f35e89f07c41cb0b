namespace Flotilla.Databases;

/// <summary>
/// What <c>flotilla db shell</c> needs to open a person's session on a service's database: where
/// it is and whose credentials. Given to an admin's client only (never logged, never in an event or
/// the audit); the client hands the password to psql through a temporary pgpass file.
/// </summary>
/// <param name="Engine"><c>postgres</c> or <c>sqlite</c>.</param>
/// <param name="File">The SQLite file (SQLite only).</param>
/// <param name="Options">PGOPTIONS for the session (read-only: <c>default_transaction_read_only</c>).</param>
public sealed record DatabaseSession(string Service, string Engine, bool ReadOnly, string? Host, int? Port, string? Database, string? Username, string? Password, string? File, string? Options);
