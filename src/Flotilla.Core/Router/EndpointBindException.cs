namespace Flotilla.Router;

/// <summary>A service endpoint could not listen on its port.</summary>
public sealed class EndpointBindException(string service, int port, string message) : Exception(message)
{
    public string Service { get; } = service;
    public int Port { get; } = port;
}
