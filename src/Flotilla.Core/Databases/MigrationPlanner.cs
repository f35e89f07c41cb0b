namespace Flotilla.Databases;

/// <summary>
/// Decides what to apply from the files and the database's history, with no I/O. Refuses, naming
/// the file: an applied file whose content changed (line 1: the whole file is the unit checked),
/// an applied file that is gone, and a new file numbered below one already applied (it would run
/// out of order on this database and in order on a fresh one).
/// </summary>
internal static class MigrationPlanner
{
    /// <param name="contractBlocked">Why a contract migration may not run now (older revisions of the service still run), or null.</param>
    public static MigrationPlan Plan(IReadOnlyList<MigrationFile> files, IReadOnlyList<AppliedMigration> applied, string? contractBlocked = null)
    {
        var byVersion = files.ToDictionary(f => f.Version);
        foreach (var done in applied.OrderBy(a => a.Version))
        {
            if (!byVersion.TryGetValue(done.Version, out var file))
            {
                return Refuse($"migration {done.Name} (version {done.Version}) was applied on {done.AppliedAt:u} by {done.AppliedBy} but its file is gone; restore it (applied migrations are history and stay in the directory)");
            }
            if (file.Checksum != done.Checksum)
            {
                return Refuse($"{file.Path}:1: migration {file.Name} was changed after it was applied on {done.AppliedAt:u} by {done.AppliedBy} (checksum {done.Checksum[..12]} then, {file.Checksum[..12]} now); undo the edit and put the change in a new file with a higher number");
            }
        }
        var highest = applied.Count == 0 ? long.MinValue : applied.Max(a => a.Version);
        var appliedVersions = applied.Select(a => a.Version).ToHashSet();
        var pending = files.Where(f => !appliedVersions.Contains(f.Version)).ToList();
        if (pending.FirstOrDefault(f => f.Version < highest) is { } late)
        {
            return Refuse($"{late.Path}:1: migration {late.Name} is numbered below {highest}, which this database already has; renumber it above {highest}");
        }
        if (contractBlocked is not null && pending.FirstOrDefault(f => f.Contract) is { } contract)
        {
            return Refuse($"{contract.Path}:1: migration {contract.Name} is a contract migration ({MigrationSet.ContractMarker}) and {contractBlocked}; apply the code that no longer needs what it removes first, then this migration alone once that rollout has completed");
        }
        return new MigrationPlan(pending, null);
    }

    private static MigrationPlan Refuse(string reason) => new([], reason);
}
