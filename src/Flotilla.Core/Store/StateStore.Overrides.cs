namespace Flotilla.Store;

public sealed partial class StateStore
{
    public IReadOnlyDictionary<string, ServiceOverride> ServiceOverrides() =>
        Read(c => Query(c, "SELECT service, instances, stopped, paused FROM service_overrides",
            r => new ServiceOverride(r.GetString(0), r.IsDBNull(1) ? null : r.GetInt32(1), r.GetInt64(2) != 0, r.GetInt64(3) != 0)))
        .ToDictionary(o => o.Service, StringComparer.Ordinal);

    /// <summary>Sets (or with nulls/false clears) an operator override of one service, audited in the same transaction.</summary>
    public void SetServiceOverride(ServiceOverride value, string actor, string action, string detail, DateTimeOffset at) =>
        Write((c, t) =>
        {
            if (value.IsEmpty)
            {
                Execute(c, "DELETE FROM service_overrides WHERE service = $s", t, ("$s", value.Service));
            }
            else
            {
                Execute(c, "INSERT INTO service_overrides (service, instances, stopped, paused) VALUES ($s, $i, $st, $p) ON CONFLICT(service) DO UPDATE SET instances = $i, stopped = $st, paused = $p", t,
                    ("$s", value.Service), ("$i", value.Instances), ("$st", value.Stopped ? 1 : 0), ("$p", value.Paused ? 1 : 0));
            }
            InsertAudit(c, t, at, actor, action, detail, null, null);
        });

    public IReadOnlySet<string> ZonesDown() =>
        Read(c => Query(c, "SELECT zone FROM zones_down", r => r.GetString(0))).ToHashSet(StringComparer.Ordinal);

    public void SetZoneDown(string zone, bool down, string actor, DateTimeOffset at) =>
        Write((c, t) =>
        {
            Execute(c, down ? "INSERT OR IGNORE INTO zones_down (zone, since) VALUES ($z, $at)" : "DELETE FROM zones_down WHERE zone = $z", t,
                ("$z", zone), ("$at", at.ToUnixTimeMilliseconds()));
            InsertAudit(c, t, at, actor, down ? "zone down" : "zone up", $"zone {zone} marked {(down ? "down" : "up")}", null, null);
        });

    public string? Meta(string key) => Read(c => Scalar(c, "SELECT value FROM meta WHERE key = $k", null, ("$k", key)) as string);

    public void SetMeta(string key, string? value) =>
        Write((c, t) => Execute(c, value is null ? "DELETE FROM meta WHERE key = $k" : "INSERT INTO meta (key, value) VALUES ($k, $v) ON CONFLICT(key) DO UPDATE SET value = $v", t,
            ("$k", key), ("$v", value)));
}
