using System.Net;
using System.Net.Sockets;

namespace Flotilla.Router.HAProxy;

/// <summary>
/// The listening socket of every endpoint, held by Flotilla and handed to HAProxy as inherited
/// descriptors (<c>bind fd@N</c>). HAProxy 2.6's master exits when its only worker is killed; with
/// the socket held here the kernel keeps new connections in its backlog until the next HAProxy,
/// spawned on the same descriptors, accepts them: none is refused (README, "A crash, measured").
/// </summary>
internal sealed class EndpointSockets : IDisposable
{
    /// <summary>As many waiting connections as the kernel allows (net.core.somaxconn caps it).</summary>
    private const int Backlog = 4096;

    private readonly Dictionary<string, Socket> _sockets = new(StringComparer.Ordinal);

    public bool Holds(string endpoint) => _sockets.ContainsKey(endpoint);

    /// <summary>Binds and listens on 127.0.0.1:<paramref name="port"/> (0: a port the kernel chooses); returns the port.</summary>
    public int Open(string endpoint, int port)
    {
        var socket = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        try
        {
            // SO_REUSEADDR alone (.NET's ReuseAddress also sets SO_REUSEPORT, which would let another process bind the port
            // beside us): a port left in TIME_WAIT by a previous HAProxy can be bound again at once.
            socket.SetRawSocketOption(1 /* SOL_SOCKET */, 2 /* SO_REUSEADDR */, BitConverter.GetBytes(1));
            socket.Bind(new IPEndPoint(IPAddress.Loopback, port));
            socket.Listen(Backlog);
        }
        catch (SocketException e)
        {
            socket.Dispose();
            throw new EndpointBindException(endpoint, port, $"service '{endpoint}': port {port} is not free ({e.Message}); choose another http.port or stop what listens there");
        }
        Close(endpoint);
        _sockets[endpoint] = socket;
        return ((IPEndPoint)socket.LocalEndPoint!).Port;
    }

    /// <summary>Takes a listening socket copied from a running HAProxy (<see cref="MasterSockets"/>) as the endpoint's.</summary>
    public void Adopt(string endpoint, Socket socket)
    {
        Close(endpoint);
        _sockets[endpoint] = socket;
    }

    public void Close(string endpoint)
    {
        if (_sockets.Remove(endpoint, out var socket))
        {
            socket.Dispose();
        }
    }

    /// <summary>
    /// The descriptors to spawn HAProxy with, in the order of <see cref="Numbers"/>: the endpoints by name,
    /// the first at the child's descriptor 3 (<see cref="Runtime.PosixSpawn"/>).
    /// </summary>
    public IReadOnlyList<int> Descriptors(IEnumerable<string> endpoints) =>
        Numbers(endpoints).OrderBy(n => n.Value).Select(n => (int)_sockets[n.Key].Handle).ToList();

    /// <summary>Each endpoint's descriptor number in a HAProxy spawned with <see cref="Descriptors"/>.</summary>
    public IReadOnlyDictionary<string, int> Numbers(IEnumerable<string> endpoints) =>
        endpoints.Order(StringComparer.Ordinal).Select((e, i) => (e, i)).ToDictionary(p => p.e, p => 3 + p.i, StringComparer.Ordinal);

    public void Dispose()
    {
        foreach (var socket in _sockets.Values)
        {
            socket.Dispose();
        }
        _sockets.Clear();
    }
}
