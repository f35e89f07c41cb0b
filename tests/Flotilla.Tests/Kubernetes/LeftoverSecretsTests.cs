using Flotilla.Runtime.Kubernetes;

namespace Flotilla.Tests.Kubernetes;

/// <summary>Which of a control plane's Secrets were left without their ReplicaSet (<see cref="LeftoverSecrets"/>): a table of cases.</summary>
public sealed class LeftoverSecretsTests
{
    private static readonly DateTimeOffset Now = new(2026, 12, 5, 19, 0, 0, TimeSpan.Zero);

    [Theory]
    [InlineData("left", false, 120, false, false, true)]
    [InlineData("owned by its ReplicaSet", true, 120, false, false, false)]
    [InlineData("its ReplicaSet exists, not owning it yet", false, 120, true, false, false)]
    [InlineData("its revision is in flight here", false, 120, false, true, false)]
    [InlineData("younger than the grace", false, 30, false, false, false)]
    [InlineData("exactly the grace old", false, 60, false, false, true)]
    [InlineData("made in the future by the API server's clock", false, -30, false, false, false)]
    public void ASecret_IsLeftOnlyWhenNothingHoldsIt_AndItIsOlderThanTheGrace(string name, bool owned, int ageSeconds, bool replicaSet, bool inFlight, bool deleted)
    {
        var secrets = new[] { new LeftoverSecrets.Listed(name, owned, Now.AddSeconds(-ageSeconds), "u1") };
        var planned = LeftoverSecrets.Plan(secrets, replicaSet ? new HashSet<string> { name } : [], inFlight ? new HashSet<string> { name } : [], Now);
        Assert.Equal(deleted ? [name] : [], planned.Select(s => s.Name));
    }

    [Fact]
    public void ASecretWhoseAgeIsUnknown_IsKept() =>
        Assert.Empty(LeftoverSecrets.Plan([new LeftoverSecrets.Listed("s", false, null, "u1")], new HashSet<string>(), new HashSet<string>(), Now));

    /// <summary>Its delete is conditional on the uid listed: without one there is nothing to make it conditional on.</summary>
    [Fact]
    public void ASecretWhoseUidIsUnknown_IsKept() =>
        Assert.Empty(LeftoverSecrets.Plan([new LeftoverSecrets.Listed("s", false, Now.AddHours(-1), null)], new HashSet<string>(), new HashSet<string>(), Now));

    [Fact]
    public void TheLeftSecrets_AreGivenWithTheUidsListed_ByName() =>
        Assert.Equal([("a", "u2"), ("b", "u1")], LeftoverSecrets.Plan(
            [new LeftoverSecrets.Listed("b", false, Now.AddHours(-1), "u1"), new LeftoverSecrets.Listed("a", false, Now.AddHours(-1), "u2")],
            new HashSet<string>(), new HashSet<string>(), Now).Select(s => (s.Name, s.Uid!)));
}
