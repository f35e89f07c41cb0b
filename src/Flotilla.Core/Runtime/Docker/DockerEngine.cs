using System.Net.Sockets;
using Docker.DotNet;

namespace Flotilla.Runtime.Docker;

/// <summary>
/// A connection to one Docker Engine (DOCKER_HOST, else /var/run/docker.sock) at an API version
/// both sides speak: the engine's own, capped at what this client knows. Debian's engine speaks
/// at most 1.41 and current engines refuse anything below 1.44, so no fixed version serves both.
/// </summary>
public sealed class DockerEngine : IDisposable
{
    /// <summary>The newest Engine API version this client's models cover.</summary>
    private static readonly System.Version Newest = new(1, 51);

    /// <summary>Init, NanoCpus and OOM reporting are all there by 1.41; older engines are refused by name.</summary>
    private static readonly System.Version Oldest = new(1, 41);

    private DockerEngine(DockerClient client, string endpoint, string version, System.Version api)
    {
        Client = client;
        Endpoint = endpoint;
        Version = version;
        Api = api;
    }

    public DockerClient Client { get; }
    public string Endpoint { get; }
    public string Version { get; }
    public System.Version Api { get; }

    /// <summary>Where Flotilla looks for the engine: DOCKER_HOST as the docker CLI reads it, else the default socket.</summary>
    public static string DefaultEndpoint =>
        Environment.GetEnvironmentVariable("DOCKER_HOST") is { Length: > 0 } host ? host : "unix:///var/run/docker.sock";

    /// <summary>Connects and negotiates; throws <see cref="DockerUnavailableException"/> saying what is wrong and how to fix it.</summary>
    public static async Task<DockerEngine> ConnectAsync(string? endpoint = null, CancellationToken cancellationToken = default)
    {
        endpoint ??= DefaultEndpoint;
        var uri = new Uri(endpoint);
        System.Version api;
        string version;
        try
        {
            using var probe = new DockerClientBuilder().WithEndpoint(uri).WithTimeout(TimeSpan.FromSeconds(10)).Build();
            var answer = await probe.System.GetVersionAsync(cancellationToken);
            version = answer.Version;
            api = System.Version.Parse(answer.APIVersion);
        }
        catch (Exception e) when (e is HttpRequestException or SocketException or TimeoutException or DockerApiException or IOException or TaskCanceledException && !cancellationToken.IsCancellationRequested)
        {
            throw new DockerUnavailableException(Explain(endpoint, e));
        }
        if (api < Oldest)
        {
            throw new DockerUnavailableException($"the Docker Engine at {endpoint} is version {version} (API {api}); Flotilla needs API {Oldest} or newer (Docker 20.10+)");
        }
        var use = api < Newest ? api : Newest;
        var client = new DockerClientBuilder().WithEndpoint(uri).WithApiVersion(use).Build();
        return new DockerEngine(client, endpoint, version, use);
    }

    private static string Explain(string endpoint, Exception e)
    {
        var socket = endpoint.StartsWith("unix://", StringComparison.Ordinal) ? endpoint["unix://".Length..] : null;
        var inner = e as SocketException ?? e.InnerException as SocketException ?? e.InnerException?.InnerException as SocketException;
        if (socket is not null && !File.Exists(socket))
        {
            return $"the Docker Engine is not running: no socket at {socket}. Start it (systemctl start docker, or dockerd &), or set DOCKER_HOST to where it listens";
        }
        if (inner?.SocketErrorCode == SocketError.AccessDenied || e is UnauthorizedAccessException || e.InnerException is UnauthorizedAccessException)
        {
            return $"no permission to use the Docker Engine's socket {socket ?? endpoint}: run Flotilla as root or as a member of the 'docker' group";
        }
        if (inner?.SocketErrorCode == SocketError.ConnectionRefused)
        {
            return $"the Docker Engine is not running: {socket ?? endpoint} refuses connections. Start it (systemctl start docker, or dockerd &)";
        }
        return $"the Docker Engine at {endpoint} does not answer: {e.Message}";
    }

    public void Dispose() => Client.Dispose();
}

/// <summary>The Docker Engine cannot be used; the message says why and what to do.</summary>
public sealed class DockerUnavailableException(string message) : Exception(message);
