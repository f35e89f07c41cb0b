namespace Flotilla.Databases;

/// <summary>
/// One step of a <see cref="DatabasePlan"/> for one service's database: make sure it exists on its
/// engine (<see cref="Engine"/> null: a SQLite file) and apply its migrations; or
/// <see cref="Refusal"/>, why it cannot be had now (the apply is refused with it).
/// </summary>
public sealed record DatabaseStep(string Service, string Database, string? Engine, string? AdminSecret, string? Migrations, string? Refusal = null);
