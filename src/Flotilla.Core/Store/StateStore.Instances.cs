namespace Flotilla.Store;

public sealed partial class StateStore
{
    public void SaveInstance(InstanceRecord instance) =>
        Write((c, t) => Execute(c,
            "INSERT OR REPLACE INTO instances (id, service, revision, pid, process_start_time, port, zone, started_at, launch_json) VALUES ($id, $s, $r, $pid, $st, $port, $zone, $at, $launch)", t,
            ("$id", instance.Id), ("$s", instance.Service), ("$r", instance.Revision), ("$pid", instance.Pid), ("$st", instance.ProcessStartTime),
            ("$port", instance.Port), ("$zone", instance.Zone), ("$at", instance.StartedAt.ToUnixTimeMilliseconds()), ("$launch", instance.LaunchJson)));

    public void RemoveInstance(string id) => Write((c, t) => Execute(c, "DELETE FROM instances WHERE id = $id", t, ("$id", id)));

    public IReadOnlyList<InstanceRecord> Instances() =>
        Read(c => Query(c, "SELECT id, service, revision, pid, process_start_time, port, zone, started_at, launch_json FROM instances ORDER BY started_at",
            r => new InstanceRecord(r.GetString(0), r.GetString(1), r.GetString(2), r.GetInt32(3), NullableLong(r, 4), r.GetInt32(5), NullableString(r, 6), Time(r, 7), r.GetString(8))));
}
