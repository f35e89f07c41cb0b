using System.Net;

namespace Flotilla.Router;

/// <summary>
/// Where the router's listening sockets come from. In <c>flotilla up</c> Kestrel binds them
/// itself (<see cref="DirectListeners"/>); in a router process they are held by its supervisor
/// so that they outlive the process that serves them (<see cref="Supervisor.HeldListeners"/>).
/// </summary>
public interface IListenerSource
{
    /// <summary>A listener for <paramref name="key"/> on <paramref name="address"/> (port 0: any free one); throws <see cref="PortInUseException"/>.</summary>
    Task<ListenTarget> OpenAsync(string key, IPEndPoint address, CancellationToken cancellationToken = default);

    /// <summary>The listener is no longer wanted (its endpoint was removed).</summary>
    Task CloseAsync(string key);
}

/// <summary>Kestrel binds each endpoint itself: nothing outlives the process.</summary>
public sealed class DirectListeners : IListenerSource
{
    public static DirectListeners Instance { get; } = new();

    public Task<ListenTarget> OpenAsync(string key, IPEndPoint address, CancellationToken cancellationToken = default) => Task.FromResult(new ListenTarget(address));

    public Task CloseAsync(string key) => Task.CompletedTask;
}

/// <summary>The port of a listener is taken by another program.</summary>
public sealed class PortInUseException(IPEndPoint address, string message) : Exception(message)
{
    public IPEndPoint Address { get; } = address;
}
