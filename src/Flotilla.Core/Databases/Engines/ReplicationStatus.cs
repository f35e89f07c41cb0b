using Npgsql;

namespace Flotilla.Databases.Engines;

/// <summary>
/// Reads each replica's lag from its primary, and keeps durability "preferred" (CloudNativePG's
/// <c>dataDurability: preferred</c>): while a replica streams, a commit waits until one replica has
/// it (<c>synchronous_standby_names = 'ANY 1 (*)'</c>), so killing the primary loses no committed
/// write; with no replica streaming, commits do not wait (the primary alone is better than no writes).
/// </summary>
internal sealed class ReplicationStatus(Action<string, string, bool> record)
{
    private IReadOnlyList<ReplicaLag> _lags = [];

    public IReadOnlyList<ReplicaLag> Lags => Volatile.Read(ref _lags);

    public async Task UpdateAsync(string engine, EngineMember primary, string adminConnectionString, CancellationToken cancellationToken)
    {
        try
        {
            await using var connection = new NpgsqlConnection(new NpgsqlConnectionStringBuilder(adminConnectionString) { Port = primary.Port, Pooling = false, Timeout = 2 }.ToString());
            await connection.OpenAsync(cancellationToken);
            var lags = new List<ReplicaLag>();
            await using (var command = new NpgsqlCommand("""
                SELECT application_name, state, sync_state, COALESCE(pg_wal_lsn_diff(pg_current_wal_lsn(), replay_lsn), 0)::bigint,
                       EXTRACT(EPOCH FROM replay_lag) * 1000
                FROM pg_stat_replication ORDER BY application_name
                """, connection))
            await using (var reader = await command.ExecuteReaderAsync(cancellationToken))
            {
                while (await reader.ReadAsync(cancellationToken))
                {
                    lags.Add(new ReplicaLag(engine, reader.GetString(0).Replace('_', '-'), reader.GetString(1), reader.GetString(2), reader.GetInt64(3),
                        reader.IsDBNull(4) ? null : (double)reader.GetDecimal(4)));
                }
            }
            Volatile.Write(ref _lags, [.. Lags.Where(l => l.Engine != engine), .. lags]);
            var wanted = lags.Any(l => l.State == "streaming") ? "ANY 1 (*)" : "";
            await using var show = new NpgsqlCommand("SHOW synchronous_standby_names", connection);
            if ((string?)await show.ExecuteScalarAsync(cancellationToken) != wanted)
            {
                await using var set = new NpgsqlCommand($"ALTER SYSTEM SET synchronous_standby_names = '{wanted}'; SELECT pg_reload_conf();", connection);
                await set.ExecuteNonQueryAsync(cancellationToken);
                record($"engine-{engine}", wanted.Length > 0
                    ? "a replica streams: commits now wait for one replica (synchronous, no committed write is lost with the primary)"
                    : "no replica streams: commits no longer wait for one (durability preferred, writes go on)", wanted.Length == 0);
            }
        }
        catch (Exception e) when (e is NpgsqlException or TimeoutException)
        {
            // The primary went away between the observation and this: the next pass sees it.
        }
    }
}
