using Flotilla.Hosting;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Router;

/// <summary>FLOTILLA_ROUTERS that cannot be used is refused before the control plane starts anything.</summary>
public sealed class RouterReplicaOptionsTests
{
    [Theory]
    [InlineData("10.0.0.12:7071", "S", "'10.0.0.12:7071' is not a router replica's admin URL")]
    [InlineData("http://10.0.0.12:7071/admin", "S", "'http://10.0.0.12:7071/admin' is not a router replica's admin URL")]
    [InlineData("https://10.0.0.12:7071", "S", "is not a router replica's admin URL")]
    [InlineData("http://10.0.0.12:7071", null, "FLOTILLA_ROUTERS_SECRET is not set")]
    public async Task AReplicaListThatCannotBeUsed_IsRefused_NamingWhatToSet_AndNothingIsCreated(string replicas, string? secret, string expected)
    {
        using var dir = new TempDirectory("flotilla-replicas");
        var data = Path.Combine(dir.Path, "data");
        var e = await Assert.ThrowsAsync<ControlPlaneException>(() => ControlPlane.StartAsync(new ControlPlaneOptions(data) { RouterReplicas = replicas, RouterReplicaSecret = secret }));
        Assert.Equal(ControlPlaneError.Invalid, e.Kind);
        Assert.Contains(expected, e.Message, StringComparison.Ordinal);
        Assert.False(Directory.Exists(data), "the data directory was created");
    }

    [Fact]
    public void SeveralReplicas_AreReadInOrder()
    {
        var admins = Flotilla.Router.RouterSet.ParseReplicas(" http://10.0.0.12:7071, http://10.0.0.13:7071 ", "S");
        Assert.Equal(["10.0.0.12:7071", "10.0.0.13:7071"], admins.Select(a => a.Authority));
        Assert.Empty(Flotilla.Router.RouterSet.ParseReplicas(null, null));
    }
}
