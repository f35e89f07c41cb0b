using Flotilla.Model;

namespace Flotilla.Databases;

/// <summary>
/// Decides, with no I/O, what an apply must do for the spec's databases: which engine each lives
/// on and with which admin credentials, and what refuses the apply (an external engine whose admin
/// secret is not in the store; a Flotilla-run engine that is not running). Databases of services
/// removed from the spec are kept: data is never dropped by an apply.
/// </summary>
public static class DatabasePlanner
{
    /// <param name="secrets">Names of the secrets in the environment's store.</param>
    /// <param name="runningEngines">Flotilla-run engines that accept connections now.</param>
    public static DatabasePlan Plan(SystemSpec spec, IReadOnlySet<string> secrets, IReadOnlySet<string> runningEngines)
    {
        var engines = spec.EngineList.ToDictionary(e => e.Name, StringComparer.Ordinal);
        var steps = new List<DatabaseStep>();
        foreach (var service in spec.Services.Where(s => s.Database is not null))
        {
            var database = service.Database!;
            if (database.Engine is null)
            {
                steps.Add(new DatabaseStep(service.Name, database.Name, null, null, database.Migrations));
                continue;
            }
            var engine = engines[database.Engine];
            var admin = engine.ExternalSecret ?? DatabaseSecretNames.EngineAdmin(engine.Name);
            var refusal = engine.IsExternal
                ? secrets.Contains(admin) ? null : $"engine '{engine.Name}' is external and its admin connection string is not in this environment's secret store: flotilla secret set {admin} --from-file FILE (e.g. Host=db.example;Username=postgres;Password=...)"
                : runningEngines.Contains(engine.Name) && secrets.Contains(admin) ? null : $"engine '{engine.Name}' (PostgreSQL run by Flotilla) is not accepting connections yet; see 'flotilla events'";
            steps.Add(new DatabaseStep(service.Name, database.Name, engine.Name, admin, database.Migrations, refusal));
        }
        return new DatabasePlan(steps);
    }
}
