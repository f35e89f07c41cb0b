using Flotilla.Hosting;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.EndToEnd;

/// <summary>A Swarm manager that cannot be used is a clear error, and the apply changes nothing.</summary>
[Collection(ProcessHeavy.Name)]
public sealed class SwarmManagerTests : IDisposable
{
    private readonly TempDirectory _dir = new("flotilla-swarm-manager");

    private const string Spec = """
        name: swarm-errors
        runtime: swarm
        services:
          web:
            command: [python3, -m, http.server, "${PORT}"]
        """;

    private async Task<ControlPlaneException> ApplyRefusedAsync(string manager)
    {
        await using var plane = await ControlPlane.StartAsync(new ControlPlaneOptions(Path.Combine(_dir.Path, "data")) { SwarmEndpoint = manager });
        var file = _dir.Write("flotilla.yaml", Spec);
        var refused = await Assert.ThrowsAsync<ControlPlaneException>(() => plane.ApplyAsync(new ApplyRequest(Spec, file, null, null, "test")));
        Assert.Null(plane.State.Find("web"));
        Assert.Empty(plane.Status().Services);
        return refused;
    }

    [Fact]
    public async Task AManagerThatIsNotThere_RefusesTheApply_SayingWhere()
    {
        var refused = await ApplyRefusedAsync("unix:///run/flotilla-no-such-manager.sock");
        Assert.Equal(ControlPlaneError.Unavailable, refused.Kind);
        Assert.Contains("service 'web' (runtime swarm)", refused.Message, StringComparison.Ordinal);
        Assert.Contains("no socket at /run/flotilla-no-such-manager.sock", refused.Message, StringComparison.Ordinal);
    }

    [DockerFact]
    public async Task AnEngineNotInASwarm_RefusesTheApply_SayingHowToMakeOne()
    {
        var refused = await ApplyRefusedAsync(Flotilla.Runtime.Docker.DockerEngine.DefaultEndpoint);
        Assert.Contains("is not in a swarm", refused.Message, StringComparison.Ordinal);
        Assert.Contains("docker swarm init", refused.Message, StringComparison.Ordinal);
    }

    public void Dispose() => _dir.Dispose();
}
