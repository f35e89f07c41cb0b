namespace Flotilla.Store;

public sealed partial class StateStore
{
    public IReadOnlyDictionary<string, FlagOverride> FlagOverrides() =>
        Read(c => Query(c, "SELECT flag, definition_json, spec_json, actor, at FROM flag_overrides",
            r => new FlagOverride(r.GetString(0), r.GetString(1), r.GetString(2), r.GetString(3), Time(r, 4))))
        .ToDictionary(o => o.Flag, StringComparer.Ordinal);

    /// <summary>Records a flag's runtime definition and its audit record (who, when, old → new) in one transaction.</summary>
    public void SetFlagOverride(FlagOverride value, string action, string detail) =>
        Write((c, t) =>
        {
            Execute(c, "INSERT INTO flag_overrides (flag, definition_json, spec_json, actor, at) VALUES ($f, $d, $s, $a, $at) ON CONFLICT(flag) DO UPDATE SET definition_json = $d, spec_json = $s, actor = $a, at = $at", t,
                ("$f", value.Flag), ("$d", value.DefinitionJson), ("$s", value.SpecJson), ("$a", value.Actor), ("$at", value.At.ToUnixTimeMilliseconds()));
            InsertAudit(c, t, value.At, value.Actor, action, detail, null, null);
        });

    /// <summary>Drops a flag's runtime definition (the spec's serves again), audited.</summary>
    public void RemoveFlagOverride(string flag, string actor, string action, string detail, DateTimeOffset at) =>
        Write((c, t) =>
        {
            Execute(c, "DELETE FROM flag_overrides WHERE flag = $f", t, ("$f", flag));
            InsertAudit(c, t, at, actor, action, detail, null, null);
        });
}
