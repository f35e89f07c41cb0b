using Flotilla.Runtime.Kubernetes;

namespace Flotilla.Tests.Kubernetes;

/// <summary>A ReplicaSet's name is unique per service and revision (10 hex characters, as Flotilla makes them), and short enough for its pods' names (63).</summary>
public sealed class ReplicaSetNameTests
{
    [Theory]
    [InlineData("web")]
    [InlineData("a-service-name-of-thirty-three-ch")]
    [InlineData("a-service-name-of-the-longest-kind-40ch")]
    public void EachRevision_GetsItsOwnName_WithinTheLimit(string service)
    {
        var owner = "0123456789ab";
        var first = ReplicaSets.Name(owner, service, "aaaaaaaaaa");
        var second = ReplicaSets.Name(owner, service, "aaaaaaaaab");
        var third = ReplicaSets.Name(owner, service, "bbbbbbbbbb");
        Assert.Equal(3, new HashSet<string> { first, second, third }.Count);
        Assert.All([first, second, third], name => Assert.True(name.Length <= 57 && !name.EndsWith('-'), name));
    }

    [Fact]
    public void TwoLongServices_SharingAPrefix_DoNotShareAName()
    {
        var owner = "0123456789ab";
        Assert.NotEqual(
            ReplicaSets.Name(owner, "payments-reconciliation-worker-east-1", "abcdef012345"),
            ReplicaSets.Name(owner, "payments-reconciliation-worker-east-2", "abcdef012345"));
    }
}
