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

    private static HttpMessageInvoker Create(TimeSpan lifetime) => new(new SocketsHttpHandler
    {
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
