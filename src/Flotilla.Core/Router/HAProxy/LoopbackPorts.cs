using System.Net;
using System.Net.Sockets;

namespace Flotilla.Router.HAProxy;

/// <summary>Ports on 127.0.0.1 for HAProxy's frontends, checked before its config names them.</summary>
internal static class LoopbackPorts
{
    /// <summary>A port the kernel has free now.</summary>
    public static int Free()
    {
        using var listener = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
        listener.Bind(new IPEndPoint(IPAddress.Loopback, 0));
        return ((IPEndPoint)listener.LocalEndPoint!).Port;
    }

    /// <summary>Why the port cannot be bound, or null when it can.</summary>
    public static string? Taken(int port)
    {
        try
        {
            using var probe = new Socket(AddressFamily.InterNetwork, SocketType.Stream, ProtocolType.Tcp);
            probe.Bind(new IPEndPoint(IPAddress.Loopback, port));
            return null;
        }
        catch (SocketException e)
        {
            return e.Message;
        }
    }
}
