using Flotilla.Hosting;

namespace Flotilla.Tests.Hosting;

/// <summary>
/// Whether a recorded revision gave its instances the keyed flags URL: a revision recorded before
/// flag keys existed reads as unkeyed (its flags stay served at the root until the next apply), a
/// new one says keyed, and neither changes the JSON of revisions that had no reason to.
/// </summary>
public sealed class FlagsStateTests
{
    [Fact]
    public void ARevisionRecordedBeforeKeys_ReadsUnkeyed_AndANewOneRoundTripsKeyed()
    {
        var old = DesiredState.FromJson("""{"system":"shop","zones":[],"services":[],"endpoints":{},"flags":{"document":"{\"flags\":{}}","port":7199}}""");
        Assert.False(old.Flags!.Keyed);
        Assert.DoesNotContain("keyed", old.ToJson(), StringComparison.OrdinalIgnoreCase);

        var keyed = old with { Flags = old.Flags with { Keyed = true } };
        var again = DesiredState.FromJson(keyed.ToJson());
        Assert.True(again.Flags!.Keyed);
        Assert.Equal(7199, again.Flags.Port);
    }
}
