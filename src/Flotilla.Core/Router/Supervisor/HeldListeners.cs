using System.Net;

namespace Flotilla.Router.Supervisor;

/// <summary>
/// Listening sockets held by the router's supervisor: this worker serves on copies of them. Every one
/// asked for on loopback listens on <paramref name="bind"/>: loopback for the control plane's own router, a
/// node's address for a router that serves the machines around it (an explicit other address, such as
/// <c>--metrics 0.0.0.0:9464</c>, stays as given).
/// </summary>
internal sealed class HeldListeners(SupervisorChannel supervisor, IPAddress bind) : IListenerSource
{
    public async Task<ListenTarget> OpenAsync(string key, IPEndPoint requested, CancellationToken cancellationToken = default)
    {
        var address = IPAddress.IsLoopback(requested.Address) ? new IPEndPoint(bind, requested.Port) : requested;
        var reply = await supervisor.SendAsync(new SupervisorRequest("listen", Key: key, Address: address.Address.ToString(), Port: address.Port), cancellationToken);
        if (reply.InUse)
        {
            throw new PortInUseException(address, reply.Error ?? "address in use");
        }
        var fd = supervisor.Take(reply.Fd ?? throw new IOException($"the router's supervisor gave no socket for {key}"));
        return new ListenTarget(new IPEndPoint(address.Address, reply.Port ?? address.Port), (ulong)fd);
    }

    public async Task CloseAsync(string key) => await supervisor.SendAsync(new SupervisorRequest("close", Key: key));
}
