namespace Flotilla.Databases;

/// <summary>A row of a database's <c>flotilla_migrations</c> history: what was applied, its checksum then, when and by which revision.</summary>
public sealed record AppliedMigration(long Version, string Name, string Checksum, DateTimeOffset AppliedAt, string AppliedBy);
