using Flotilla.Databases;
using Flotilla.Model;

namespace Flotilla.Tests.Databases;

/// <summary>Which engine each database lives on and what refuses the apply: pure, no server.</summary>
public sealed class DatabasePlannerTests
{
    private static readonly SpecLocation At = new("flotilla.yaml", 1, 1);

    private static SystemSpec Spec(params EngineSpec[] engines) => new("shop", "/s", "/s/flotilla.yaml",
    [
        new ServiceSpec { Name = "orders", At = At, Database = new DatabaseSpec("orders", engines.Length > 0 ? engines[0].Name : null, "/s/db", At) },
        new ServiceSpec { Name = "web", At = At },
    ], new Dictionary<string, EnvironmentSpec>(), null, Engines: engines);

    [Fact]
    public void Sqlite_NeedsNothing_AndServicesWithoutADatabase_HaveNoStep()
    {
        var step = Assert.Single(DatabasePlanner.Plan(Spec(), new HashSet<string>(), new HashSet<string>()).Steps);
        Assert.Equal(new DatabaseStep("orders", "orders", null, null, "/s/db"), step);
    }

    [Fact]
    public void External_UsesItsAdminSecret_AndIsRefusedWithoutIt()
    {
        var spec = Spec(new EngineSpec("pg", "postgres", 0, "pg-admin", At));
        Assert.Equal(new DatabaseStep("orders", "orders", "pg", "pg-admin", "/s/db"), DatabasePlanner.Plan(spec, new HashSet<string> { "pg-admin" }, new HashSet<string>()).Steps[0]);
        var refused = DatabasePlanner.Plan(spec, new HashSet<string>(), new HashSet<string>()).Refusals.Single();
        Assert.Contains("flotilla secret set pg-admin", refused.Refusal, StringComparison.Ordinal);
    }

    [Fact]
    public void RunByFlotilla_WaitsForTheEngine()
    {
        var spec = Spec(new EngineSpec("pg", "postgres", 1, null, At));
        var admin = DatabaseSecretNames.EngineAdmin("pg");
        Assert.Contains("not accepting connections", DatabasePlanner.Plan(spec, new HashSet<string> { admin }, new HashSet<string>()).Refusals.Single().Refusal, StringComparison.Ordinal);
        Assert.Empty(DatabasePlanner.Plan(spec, new HashSet<string> { admin }, new HashSet<string> { "pg" }).Refusals);
    }
}
