using System.Net.Sockets;

namespace Flotilla.Router.HAProxy;

/// <summary>The endpoints' sockets: a master spawned on them, and taken back from a master adopted.</summary>
public sealed partial class HAProxyRouter
{
    /// <summary>
    /// A new master (<paramref name="beside"/> the running one, or in place of one that is gone) on the config as
    /// things stand, with every endpoint's socket inherited; a socket not held yet (its endpoint came with a master
    /// adopted without its sockets) is bound first.
    /// </summary>
    private async Task SpawnAsync(bool beside, CancellationToken cancellationToken)
    {
        var unheld = Endpoints.Keys.Where(e => !_sockets.Holds(e)).ToList();
        if (beside && unheld.Count > 0)
        {
            // The running master listens on these ports itself (adopted from before Flotilla held the sockets, or it
            // refused pidfd_getfd): binding them beside it would fail (EADDRINUSE). One restart whole instead.
            _report($"haproxy (master {MasterPid}): the sockets of [{string.Join(", ", unheld)}] are not held here (adopted without them): stopping it and starting a new one on sockets bound afresh; its ports refuse connections meanwhile", true);
            await _process.StopAsync();
            beside = false;
        }
        foreach (var endpoint in unheld)
        {
            _sockets.Open(endpoint, Endpoints[endpoint]);
        }
        var running = _descriptors;
        _descriptors = _sockets.Numbers(Endpoints.Keys);
        WriteConfig();
        try
        {
            var inherited = _sockets.Descriptors(Endpoints.Keys);
            await (beside ? _process.StartBesideAsync(inherited, cancellationToken) : _process.StartAsync(inherited, cancellationToken));
        }
        catch when (beside)
        {
            // The running master serves on, with the descriptor numbers it has.
            _descriptors = running;
            throw;
        }
        SaveState();
    }

    /// <summary>
    /// The sockets of an adopted master, copied from it (<see cref="MasterSockets"/>) and matched to the endpoints by
    /// the port each is bound to: held here again, a crash of the HAProxy adopted refuses no connection either. False
    /// when the master listens on another set of ports than the state lists (a control plane that crashed during a
    /// start beside the old master left the old one's state): the caller restarts it whole. A master started before
    /// Flotilla held the sockets (no descriptors in the state), or one that refuses pidfd_getfd, is adopted without them.
    /// </summary>
    private bool TakeSockets()
    {
        if (_descriptors.Count == 0)
        {
            return true;
        }
        Dictionary<int, int> listening;
        try
        {
            listening = MasterSockets.Listening(_process.MasterPid);
        }
        catch (Exception e) when (e is IOException or UnauthorizedAccessException)
        {
            _report($"haproxy (master {MasterPid}): could not list its sockets ({e.Message}): restarting it whole", true);
            return false;
        }
        var ports = Endpoints.Values.ToHashSet();
        if (!listening.Keys.ToHashSet().SetEquals(ports))
        {
            _report($"haproxy (master {MasterPid}) listens on ports [{string.Join(", ", listening.Keys.Order())}], its saved state lists [{string.Join(", ", ports.Order())}] (a control plane stopped during a start beside it?): restarting it whole", true);
            return false;
        }
        // The master's own numbers: its next reload re-reads the config and binds fd@N of its own table.
        _descriptors = Endpoints.ToDictionary(e => e.Key, e => listening[e.Value], StringComparer.Ordinal);
        try
        {
            var pidfd = Supervisor.PidFd.Open(_process.MasterPid);
            try
            {
                foreach (var (endpoint, port) in Endpoints)
                {
                    if (MasterSockets.Take(pidfd, _descriptors[endpoint], port) is { } socket)
                    {
                        _sockets.Adopt(endpoint, socket);
                    }
                    else
                    {
                        _report($"haproxy (master {MasterPid}): its descriptor {_descriptors[endpoint]} is no longer the socket of endpoint '{endpoint}' (port {port}); bound again at its next start", true);
                    }
                }
            }
            finally
            {
                Supervisor.PidFd.Close(pidfd);
            }
        }
        catch (IOException e)
        {
            _report($"haproxy (master {MasterPid}): could not take its listening sockets ({e.Message}; a kernel with Yama ptrace_scope=1 refuses it); a crash of it will refuse connections until its next start, and adding or removing an endpoint restarts it whole", true);
        }
        return true;
    }
}
