namespace Flotilla.Databases;

/// <summary>A migration that cannot be applied: the file and line when known, and the database's own error; nothing of it was committed.</summary>
public sealed class MigrationException(string message, Exception? inner = null) : Exception(message, inner);
