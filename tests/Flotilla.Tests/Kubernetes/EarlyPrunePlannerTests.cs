using Flotilla.Kubernetes;

namespace Flotilla.Tests.Kubernetes;

/// <summary>Which old revisions <c>apply --prune</c> deletes before it waits: those older than the newest old one that is fully available.</summary>
public sealed class EarlyPrunePlannerTests
{
    private static readonly DateTime T0 = new(2026, 12, 5, 19, 0, 0, DateTimeKind.Utc);

    /// <summary>
    /// "api-1@10" is api's revision 1, created at second 10, fully available; "api-1@10!" is not available;
    /// "api-1@10=0" is scaled to 0 (rolled out as kubectl judges it: 0 of 0).
    /// </summary>
    private static OldRevision Rev(string text)
    {
        var (name, at) = (text.Split('@')[0], text.Split('@')[1]);
        var scaledToZero = at.EndsWith("=0", StringComparison.Ordinal);
        var second = int.Parse(at.TrimEnd('!').Replace("=0", "", StringComparison.Ordinal), System.Globalization.CultureInfo.InvariantCulture);
        return new(name.Split('-')[0], name, T0.AddSeconds(second), scaledToZero ? 0 : 6, at.EndsWith('!') ? "0 of 6 available, 6 updated" : null);
    }

    public static TheoryData<string, string[], string[], string[]> Cases => new()
    {
        { "no old revision", [], [], [] },
        { "one old revision, available: it serves until the new one does", ["api-1@0"], [], [] },
        { "one old revision, not available: kept, and said", ["api-1@0!"], [], ["api"] },
        { "two available: the older goes", ["api-1@0", "api-2@10"], ["api-1<api-2"], [] },
        { "the newer not available: the older available one serves, nothing goes", ["api-1@0", "api-2@10!"], [], [] },
        { "the older not available, the newer is: the older goes", ["api-1@0!", "api-2@10"], ["api-1<api-2"], [] },
        { "none available: all kept, and said", ["api-1@0!", "api-2@10!"], [], ["api"] },
        { "three: all older than the newest available go, listed oldest first", ["api-2@10", "api-1@0", "api-3@20"], ["api-1<api-3", "api-2<api-3"], [] },
        { "newer than the newest available, not available: kept", ["api-1@0", "api-2@10", "api-3@20!"], ["api-1<api-2"], [] },
        { "the same second cannot be ordered: neither goes for the other", ["api-a@5", "api-b@5"], [], [] },
        { "rolled back by hand (the newer scaled to 0): the older serves, nothing goes", ["api-1@0", "api-2@10=0"], [], [] },
        { "scaled to 0 between two available: the newest available still prunes the oldest", ["api-1@0", "api-2@10=0", "api-3@20"], ["api-1<api-3", "api-2<api-3"], [] },
        { "only one scaled to 0: none available, kept, and said", ["api-1@0=0"], [], ["api"] },
        { "per service", ["api-1@0", "api-2@10", "ledger-1@0!", "web-1@0"], ["api-1<api-2"], ["ledger"] },
    };

    [Theory]
    [MemberData(nameof(Cases))]
    public void Plan(string scenario, string[] old, string[] deleted, string[] noneAvailable)
    {
        var plan = EarlyPrunePlanner.Plan([.. old.Select(Rev)]);

        Assert.True(deleted.SequenceEqual(plan.Delete.Select(d => $"{d.Revision.Deployment}<{d.NewerAvailable}")), $"{scenario}: deleted {string.Join(", ", plan.Delete.Select(d => d.Revision.Deployment))}");
        Assert.True(noneAvailable.SequenceEqual(plan.NoneAvailable.Select(u => u.Service)), scenario);
    }
}
