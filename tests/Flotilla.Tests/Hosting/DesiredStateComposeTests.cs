using Flotilla.Controllers.InstanceSets;
using Flotilla.Hosting;
using Flotilla.Model;
using Flotilla.Store;

namespace Flotilla.Tests.Hosting;

/// <summary>What the controllers are asked to run: zones apply where Flotilla places instances, and not where the engine does.</summary>
public sealed class DesiredStateComposeTests
{
    private static DesiredService Service(string name, string? runtime) =>
        new(name, "rev1", 2, ["app"], new Dictionary<string, string>(), new HttpSpec(null, null, null), TimeoutsSpec.Default, RestartSpec.Default, [], Runtime: runtime);

    [Fact]
    public void ZonesGoToServicesFlotillaPlaces_NotToOnesSwarmOrKubernetesPlace()
    {
        var state = new DesiredState("shop", "prod", ["za", "zb", "zc"],
            [Service("on-processes", null), Service("in-containers", RuntimeKind.Docker), Service("on-swarm", RuntimeKind.Swarm), Service("on-kubernetes", RuntimeKind.Kubernetes)], new Dictionary<string, int>());

        var composed = state.Compose(new Dictionary<string, ServiceOverride>(), new HashSet<string> { "zb" }).ToDictionary(s => s.Name);

        Assert.Equal(["za", "zc"], composed["on-processes"].ZoneNames);
        Assert.Equal(["za", "zc"], composed["in-containers"].ZoneNames);
        // Swarm spreads over its nodes' zone labels itself: an instance on a node whose zone the spec
        // does not name would otherwise be replaced forever (the replacement lands on the same node).
        Assert.Empty(composed["on-swarm"].ZoneNames);
        Assert.Empty(composed["on-kubernetes"].ZoneNames);
    }
}
