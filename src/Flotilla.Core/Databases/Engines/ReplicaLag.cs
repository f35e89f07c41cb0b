namespace Flotilla.Databases.Engines;

/// <summary>A replica as its primary sees it (pg_stat_replication): streaming or not, sync or async, and how far behind (bytes of WAL not yet replayed, and time).</summary>
public sealed record ReplicaLag(string Engine, string Replica, string State, string SyncState, long LagBytes, double? ReplayLagMs);
