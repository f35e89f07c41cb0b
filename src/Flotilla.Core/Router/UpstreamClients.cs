using System.Net.Sockets;

namespace Flotilla.Router;

/// <summary>
/// The router's HTTP clients to instances: one that keeps connections for reuse, and one that
/// closes each connection after its answer, for instances that answered HTTP/1.0 without
/// keep-alive (see <see cref="ForwardingTransformer"/>: .NET would otherwise reuse a connection
/// such a server is closing).
/// </summary>
internal sealed class UpstreamClients : IDisposable
{
    public HttpMessageInvoker Pooled { get; } = Create(Timeout.InfiniteTimeSpan);

    /// <summary>A lifetime of zero: a connection is closed when its answer has been read, never reused.</summary>
    public HttpMessageInvoker ClosePerRequest { get; } = Create(TimeSpan.Zero);

    public HttpMessageInvoker For(DestinationState destination) => destination.Transformer.ClosesConnections ? ClosePerRequest : Pooled;

    /// <summary>
    /// How long an instance's machine may not acknowledge anything before its connection counts as
    /// broken: bytes sent (Linux's TCP_USER_TIMEOUT) and, while the router waits for an answer,
    /// keep-alive probes sent after a second of silence. A live peer's kernel acknowledges both at
    /// once, however slow its program; a machine whose network was cut never does, and without this a
    /// request on a connection to it would wait for its answer until the activity timeout (100 s).
    /// </summary>
    internal static readonly TimeSpan SendTimeout = TimeSpan.FromSeconds(1);

    private const int IpProtoTcp = 6;
    private const int TcpUserTimeout = 18;

    private static async ValueTask<Stream> ConnectAsync(SocketsHttpConnectionContext context, CancellationToken cancellationToken)
    {
        var socket = new Socket(SocketType.Stream, ProtocolType.Tcp) { NoDelay = true };
        try
        {
            if (OperatingSystem.IsLinux())
            {
                socket.SetRawSocketOption(IpProtoTcp, TcpUserTimeout, BitConverter.GetBytes((int)SendTimeout.TotalMilliseconds));
            }
            socket.SetSocketOption(SocketOptionLevel.Socket, SocketOptionName.KeepAlive, true);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveTime, 1);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveInterval, 1);
            socket.SetSocketOption(SocketOptionLevel.Tcp, SocketOptionName.TcpKeepAliveRetryCount, 2);
            await socket.ConnectAsync(context.DnsEndPoint, cancellationToken);
            return new NetworkStream(socket, ownsSocket: true);
        }
        catch
        {
            socket.Dispose();
            throw;
        }
    }

    private static HttpMessageInvoker Create(TimeSpan lifetime) => new(new SocketsHttpHandler
    {
        ConnectCallback = ConnectAsync,
        UseProxy = false,
        AllowAutoRedirect = false,
        AutomaticDecompression = System.Net.DecompressionMethods.None,
        UseCookies = false,
        EnableMultipleHttp2Connections = true,
        ActivityHeadersPropagator = null,
        ConnectTimeout = TimeSpan.FromSeconds(2),
        PooledConnectionIdleTimeout = TimeSpan.FromSeconds(30),
        PooledConnectionLifetime = lifetime,
    }, disposeHandler: true);

    public void Dispose()
    {
        Pooled.Dispose();
        ClosePerRequest.Dispose();
    }
}
