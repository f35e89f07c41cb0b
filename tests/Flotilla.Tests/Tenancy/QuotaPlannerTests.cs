using Flotilla.Controllers.InstanceSets;
using Flotilla.Hosting;
using Flotilla.Model;
using Flotilla.Tenancy;

namespace Flotilla.Tests.Tenancy;

/// <summary>What a change takes against a tenant's quota: a rollout's surge up front, functions at their maximum, resources summed.</summary>
public sealed class QuotaPlannerTests
{
    private const long Mi = 1024 * 1024;

    private static DesiredService Service(string name, string revision, int instances, RolloutSpec? rollout = null, double cpu = 0.5, long memory = 256 * Mi) =>
        new(name, revision, instances, ["app"], new Dictionary<string, string>(), new HttpSpec(null, null, null),
            TimeoutsSpec.Default, RestartSpec.Default, [], new ResourcesSpec(cpu, memory), null, rollout);

    public static TheoryData<string, int, int, int, string?, int> Surges => new()
    {
        // name, instances now, instances next, revision changes?, strategy (null: rolling 25 %), surge expected
        { "same revision: a scale has no surge", 4, 6, 0, null, 0 },
        { "rolling 25 % of 4 rounds up to 1", 4, 4, 1, null, 1 },
        { "rolling 25 % of 5 rounds up to 2", 5, 5, 1, null, 2 },
        { "rolling while scaling down: the old count stays until replaced", 6, 4, 1, null, 4 },
        { "blue-green: the new colour at full size beside the old", 3, 3, 1, "blue-green", 3 },
        { "canary: the new side may reach full size beside the stable", 2, 3, 1, "canary", 2 },
        { "a new service has nothing to surge beside", 0, 3, 1, null, 0 },
    };

    [Theory]
    [MemberData(nameof(Surges))]
    public void ARolloutsSurge_IsCountedUpFront(string name, int now, int next, int changes, string? strategy, int surge)
    {
        var rollout = strategy switch
        {
            "blue-green" => RolloutSpec.Default with { Strategy = RolloutStrategy.BlueGreen },
            "canary" => RolloutSpec.Default with { Strategy = RolloutStrategy.Canary },
            _ => null,
        };
        var footprint = Assert.Single(TenantAdmission.Footprints([Service("api", changes == 1 ? "v2" : "v1", next, rollout)], [Service("api", "v1", now, rollout)]));
        Assert.True(surge == footprint.Surge, $"{name}: surge {footprint.Surge}, expected {surge}");
        Assert.Equal(next + surge, footprint.Use(peak: true).Instances);
        Assert.Equal(next, footprint.Use(peak: false).Instances);
    }

    [Fact]
    public void AChangeOverTheQuota_IsRefused_NamingTheQuota_TheUseNow_AndWhatItNeeds()
    {
        var quota = new TenantQuota(Instances: 10, Cpu: 5, MemoryBytes: 4096 * Mi);
        // Another environment of the tenant runs 6; this one runs 4 of v1 and moves to v2 (rolling, 25 %: a surge of 1).
        var elsewhere = QuotaPlanner.Sum(TenantAdmission.Footprints([Service("web", "w1", 6)], null), peak: false);
        var here = TenantAdmission.Footprints([Service("api", "v1", 4)], null);
        var tenantNow = elsewhere + QuotaPlanner.Sum(here, peak: false);
        var next = TenantAdmission.Footprints([Service("api", "v2", 4)], [Service("api", "v1", 4)]);

        var refusal = QuotaPlanner.Refusal("payments", quota, tenantNow, here, next);
        Assert.Equal("refused by the quota of tenant 'payments', nothing was started: "
            + "instances: quota 10, 10 in use, this change needs 5 (a rollout's surge of 1 included) where this environment takes 4 now, 11 in all (--instances); "
            + "cpu: quota 5, 5 in use, this change needs 2.5 where this environment takes 2 now, 5.5 in all (--cpu). "
            + "Ask less, free some elsewhere, or have an operator raise it ('flotilla tenant quota payments ...')", refusal);

        // The same revision again (no rollout) fits; so does anything under a quota with room for the surge.
        Assert.Null(QuotaPlanner.Refusal("payments", quota, tenantNow, here, TenantAdmission.Footprints([Service("api", "v1", 4)], [Service("api", "v1", 4)])));
        Assert.Null(QuotaPlanner.Refusal("payments", new TenantQuota(Instances: 11, Cpu: 6), tenantNow, here, next));
        // A quota lowered below what runs does not refuse a change that takes less than now (scaling down must stay possible).
        Assert.Null(QuotaPlanner.Refusal("payments", new TenantQuota(Instances: 5), tenantNow, here, TenantAdmission.Footprints([Service("api", "v1", 2)], [Service("api", "v1", 4)])));
        // Memory: 4 × 256Mi + the surge's 256Mi over 1Gi in all.
        Assert.Contains("memory: quota 2048Mi, 2560Mi in use, this change needs 1280Mi", QuotaPlanner.Refusal("payments", new TenantQuota(MemoryBytes: 2048 * Mi), tenantNow, here, next), StringComparison.Ordinal);
    }

    [Fact]
    public void AFunction_CountsItsMaximumInstances_NotItsServiceInstances()
    {
        var function = Service("thumbs", "f1", 0) with { Function = new FunctionSpec(null!, new FunctionScale(0, 7, 10, TimeSpan.FromSeconds(60)), TimeSpan.FromSeconds(30), null!) };
        var use = QuotaPlanner.Sum(TenantAdmission.Footprints([function], null), peak: true);
        Assert.Equal(new QuotaUse(0, 3.5, 7 * 256 * Mi, 7), use);
        Assert.Contains("function instances: quota 5, 0 in use, this change needs 7", QuotaPlanner.Refusal("t", new TenantQuota(FunctionInstances: 5), QuotaUse.Zero, [], TenantAdmission.Footprints([function], null)),
            StringComparison.Ordinal);
    }
}
