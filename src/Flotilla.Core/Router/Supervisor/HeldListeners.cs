using System.Net;

namespace Flotilla.Router.Supervisor;

/// <summary>Listening sockets held by the router's supervisor: this worker serves on copies of them.</summary>
internal sealed class HeldListeners(SupervisorChannel supervisor) : IListenerSource
{
    public async Task<ListenTarget> OpenAsync(string key, IPEndPoint address, CancellationToken cancellationToken = default)
    {
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
