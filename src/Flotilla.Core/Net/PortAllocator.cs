using System.Net;
using System.Net.Sockets;

namespace Flotilla.Net;

/// <summary>Finds a free loopback port by letting the kernel pick one (for instances and for the router alike).</summary>
public static class PortAllocator
{
    public static int Next()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        var port = ((IPEndPoint)listener.LocalEndpoint).Port;
        listener.Stop();
        return port;
    }
}
