namespace Flotilla.Router.HAProxy;

/// <summary>
/// Drains: an instance that left the table is in maintenance in the current worker; its drain ends
/// when no worker carries a request to it any more, the old workers a reload left finishing theirs
/// included, and it is then deleted from the current worker.
/// </summary>
public sealed partial class HAProxyRouter
{
    /// <summary>
    /// Waits until no worker carries a request to the instance: the current one (<c>show stat</c>'s
    /// scur) and, after a reload, each old worker still finishing its requests (through the master
    /// CLI), so that a drain spanning a reload does not end before the old worker's answers.
    /// </summary>
    public async Task<bool> WaitForDrainAsync(string instanceId, TimeSpan timeout, CancellationToken cancellationToken = default)
    {
        var deadline = DateTime.UtcNow + timeout;
        while (true)
        {
            await _gate.WaitAsync(cancellationToken);
            try
            {
                if (!_draining.TryGetValue(instanceId, out var draining))
                {
                    return true;
                }
                var key = (HAProxyConfig.Backend(draining.Endpoint), draining.Server.Name);
                var stats = await StatsAsync(cancellationToken);
                if (!(draining.InCurrent && stats.TryGetValue(key, out var server) && server.Current > 0))
                {
                    var old = await _process.OldWorkerStatsAsync(cancellationToken);
                    if (!Carried(old, key))
                    {
                        await DeleteDrainedAsync(stats, old);
                        return true;
                    }
                }
            }
            finally
            {
                _gate.Release();
            }
            if (DateTime.UtcNow > deadline)
            {
                return false;
            }
            await Task.Delay(50, cancellationToken);
        }
    }

    private static bool Carried(IReadOnlyList<Dictionary<(string Backend, string Server), ServerStats>> workers, (string, string) key) =>
        workers.Any(w => w.TryGetValue(key, out var server) && server.Current > 0);

    /// <summary>
    /// Forgets the drains no worker carries a request for any more, and deletes their servers from the
    /// current worker. HAProxy refuses while idle connections to it are pooled (up to pool-purge-delay):
    /// those are tried again each second.
    /// </summary>
    private async Task DeleteDrainedAsync(IReadOnlyDictionary<(string Backend, string Server), ServerStats> stats, IReadOnlyList<Dictionary<(string Backend, string Server), ServerStats>> old)
    {
        foreach (var (instanceId, (endpoint, server, inCurrent)) in _draining.ToList())
        {
            var backend = HAProxyConfig.Backend(endpoint);
            if (Carried(old, (backend, server.Name)))
            {
                continue;
            }
            ServerStats? now = null;
            var known = inCurrent && stats.TryGetValue((backend, server.Name), out now);
            if (known && now!.Current > 0)
            {
                continue;
            }
            var answer = known ? await CommandAsync($"del server {backend}/{server.Name}") : "";
            if (!known || answer.Contains("Server deleted", StringComparison.Ordinal))
            {
                _draining.Remove(instanceId);
                _undeletable.Remove(instanceId);
            }
            else if (_undeletable.Add(instanceId))
            {
                _report($"haproxy: {backend}/{server.Name} stays in maintenance (no request reaches it) until it can be deleted, tried each second: {answer.Trim()}", false);
            }
        }
    }
}
