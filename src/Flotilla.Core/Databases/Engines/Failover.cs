using Flotilla.Databases.Postgres;
using Flotilla.Runtime;
using Npgsql;

namespace Flotilla.Databases.Engines;

/// <summary>
/// The I/O of a failover, in the order that keeps it safe: the old primary is fenced (SIGKILL of
/// its postmaster if it still runs), the new primary is written to the leader file (durable: a
/// control plane that crashes after this finishes the promotion on its next pass and never starts
/// the old one as a primary), then <c>pg_promote</c>. Commits stop waiting for a replica on the new
/// primary until one streams from it again (the replication loop sets it back).
/// </summary>
internal static class Failover
{
    public static async Task PromoteAsync(EngineLayout layout, EngineMember candidate, EngineMember? oldPrimary, string admin, CancellationToken cancellationToken)
    {
        if (oldPrimary is not null && MemberProcess.Pid(oldPrimary) is { } pid)
        {
            // The whole group: a backend outlives a postmaster killed alone and could still commit.
            Posix.SignalGroup(pid, Posix.SIGKILL);
            Posix.Signal(pid, Posix.SIGKILL);
        }
        layout.SetLeader(candidate.Engine, candidate.Role);
        await using var connection = new NpgsqlConnection(MemberProcess.ConnectionString(candidate, admin, timeoutSeconds: 5));
        await connection.OpenAsync(cancellationToken);
        await using (var inRecovery = new NpgsqlCommand("SELECT pg_is_in_recovery()", connection))
        {
            if ((bool)(await inRecovery.ExecuteScalarAsync(cancellationToken))!)
            {
                // Waits (up to 30 s) until the replica has replayed what it received and takes writes.
                await using var promote = new NpgsqlCommand("SELECT pg_promote(true, 30)", connection) { CommandTimeout = 40 };
                if (!(bool)(await promote.ExecuteScalarAsync(cancellationToken))!)
                {
                    throw new DatabaseException($"{candidate}: pg_promote did not complete within 30 s; its log ends: {MemberProcess.LogTail(candidate)}");
                }
            }
        }
        // No replica streams from it yet: a commit must not wait for one (durability preferred).
        await using var sync = new NpgsqlCommand("ALTER SYSTEM SET synchronous_standby_names = ''; SELECT pg_reload_conf();", connection);
        await sync.ExecuteNonQueryAsync(cancellationToken);
    }

    /// <summary>Points a replica at the primary's port (primary_conninfo, reloaded: PostgreSQL 13+ reconnects without a restart).</summary>
    public static async Task FollowAsync(EngineMember replica, EngineMember primary, string admin, CancellationToken cancellationToken)
    {
        var file = Path.Combine(replica.DataDirectory, "postgresql.auto.conf");
        var line = File.ReadLines(file).Last(l => l.StartsWith("primary_conninfo", StringComparison.Ordinal));
        var moved = System.Text.RegularExpressions.Regex.Replace(line, @"\bport=\d+", $"port={primary.Port}");
        // Appended: the last setting wins, and the file stays what PostgreSQL and pg_basebackup wrote.
        await File.AppendAllTextAsync(file, moved + "\n", cancellationToken);
        await PostgresServer.HandToServerUserAsync(file, cancellationToken, passThroughParents: false);
        if (MemberProcess.Pid(replica) is not null)
        {
            await using var connection = new NpgsqlConnection(MemberProcess.ConnectionString(replica, admin, timeoutSeconds: 5));
            await connection.OpenAsync(cancellationToken);
            await using var reload = new NpgsqlCommand("SELECT pg_reload_conf()", connection);
            await reload.ExecuteNonQueryAsync(cancellationToken);
        }
    }

    /// <summary>The admin connection string aimed at the primary's port (provisioning and the replication loop use it).</summary>
    public static string? AdminFor(string? admin, EngineMember primary)
    {
        if (admin is null)
        {
            return null;
        }
        var builder = new NpgsqlConnectionStringBuilder(admin);
        return builder.Port == primary.Port ? null : new NpgsqlConnectionStringBuilder(admin) { Port = primary.Port }.ToString();
    }
}
