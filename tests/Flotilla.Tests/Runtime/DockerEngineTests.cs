using System.Net.Sockets;
using Flotilla.Hosting;
using Flotilla.Runtime.Docker;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Runtime;

/// <summary>An engine that cannot be used is a clear error naming the socket and what to do, and refuses an apply with nothing changed. No engine needed.</summary>
public sealed class DockerEngineTests : IDisposable
{
    private readonly TempDirectory _dir = new("flotilla-docker-engine");

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task NoSocket_SaysTheEngineIsNotRunning_AndHowToStartIt()
    {
        var socket = Path.Combine(_dir.Path, "docker.sock");
        var e = await Assert.ThrowsAsync<DockerUnavailableException>(() => DockerEngine.ConnectAsync($"unix://{socket}"));
        Assert.Equal($"the Docker Engine is not running: no socket at {socket}. Start it (systemctl start docker, or dockerd &), or set DOCKER_HOST to where it listens", e.Message);
    }

    [Fact]
    public async Task ASocketNobodyListensOn_IsRefused_AndSaidSo()
    {
        var socket = Path.Combine(_dir.Path, "docker.sock");
        // Bound, never listening (a dead engine's leftover socket): connections are refused. (.NET unlinks it on close.)
        using var leftover = new Socket(AddressFamily.Unix, SocketType.Stream, ProtocolType.Unspecified);
        leftover.Bind(new UnixDomainSocketEndPoint(socket));
        var e = await Assert.ThrowsAsync<DockerUnavailableException>(() => DockerEngine.ConnectAsync($"unix://{socket}"));
        Assert.Equal($"the Docker Engine is not running: {socket} refuses connections. Start it (systemctl start docker, or dockerd &)", e.Message);
    }

    [Fact]
    public async Task AnApplyOnDocker_WithoutAnEngine_IsRefused_AndChangesNothing()
    {
        var socket = Path.Combine(_dir.Path, "docker.sock");
        await using var plane = await ControlPlane.StartAsync(new ControlPlaneOptions(Path.Combine(_dir.Path, "data")) { DockerEndpoint = $"unix://{socket}" });
        var yaml = """
            name: docker-less
            runtime: docker
            services:
              web:
                command: [python3, -m, http.server, "${PORT}", --bind, 127.0.0.1]
            """;
        var file = Path.Combine(_dir.Path, "flotilla.yaml");
        await File.WriteAllTextAsync(file, yaml);

        var e = await Assert.ThrowsAsync<ControlPlaneException>(() => plane.ApplyAsync(new ApplyRequest(yaml, file, null, null, "test")));
        Assert.Equal(ControlPlaneError.Unavailable, e.Kind);
        Assert.StartsWith($"service 'web' (runtime docker): the Docker Engine is not running: no socket at {socket}", e.Message, StringComparison.Ordinal);
        Assert.Equal(0, plane.Store.LatestRevisionNumber);
        Assert.Empty(plane.Endpoints);
        Assert.Empty(plane.Status().Services);
    }
}
