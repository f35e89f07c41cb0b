namespace Flotilla.Databases;

/// <summary>A database that cannot be provisioned or reached now (the engine is down, its admin secret missing): the apply is refused with this, nothing recorded.</summary>
public sealed class DatabaseException(string message, Exception? inner = null) : Exception(message, inner);
