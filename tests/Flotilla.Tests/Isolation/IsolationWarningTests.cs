using Flotilla.Hosting;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Isolation;

/// <summary>A control plane whose instances are not isolated says so, once, in its events; one that isolates them does not.</summary>
[Collection(ProcessHeavy.Name)]
public sealed class IsolationWarningTests
{
    [Fact]
    public async Task TurnedOff_RecordsOneWarning_NamingTheCause()
    {
        using var dir = new TempDirectory("flotilla-isolation-off");
        await using var plane = await ControlPlane.StartAsync(new ControlPlaneOptions(Path.Combine(dir.Path, "data")) { InstanceUsers = false });

        var warnings = plane.Events.Since(0).Where(e => e.Warning && e.Message.Contains("not isolated from each other", StringComparison.Ordinal)).ToList();
        Assert.Single(warnings);
        Assert.Contains("--instance-users off", warnings[0].Message, StringComparison.Ordinal);
    }

    [RootFact]
    public async Task AsRoot_RecordsNoWarning()
    {
        using var dir = new TempDirectory("flotilla-isolation-on");
        await using var plane = await ControlPlane.StartAsync(new ControlPlaneOptions(Path.Combine(dir.Path, "data")));

        Assert.DoesNotContain(plane.Events.Since(0), e => e.Message.Contains("not isolated", StringComparison.Ordinal));
    }
}
