namespace Flotilla.Databases;

/// <summary>What a database needs: the files to apply in order, or why none may be (<see cref="Refusal"/>).</summary>
internal sealed record MigrationPlan(IReadOnlyList<MigrationFile> Pending, string? Refusal)
{
    public bool IsEmpty => Pending.Count == 0 && Refusal is null;
}
