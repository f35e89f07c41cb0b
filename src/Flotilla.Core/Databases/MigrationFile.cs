namespace Flotilla.Databases;

/// <summary>
/// One ordered SQL file of a service's migrations (<c>001_create_orders.sql</c>): its version (the
/// number it starts with), its SHA-256, and whether it declares itself <c>-- flotilla: contract</c>.
/// </summary>
public sealed record MigrationFile(long Version, string Name, string Path, string Sql, string Checksum, bool Contract);
