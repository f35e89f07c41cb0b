using Flotilla.Model;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Model;

/// <summary>engines: and a service's database:, read with defaults, refused with file:line:column when wrong.</summary>
public sealed class DatabaseSpecTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public DatabaseSpecTests()
    {
        _dir.Write("files/app.py", "print('hi')");
        _dir.Write("db/migrations/001_create.sql", "CREATE TABLE t (id int);");
    }

    public void Dispose() => _dir.Dispose();

    private SystemSpec Parse(string engines, string database, string other = "") => SpecLoader.Parse($$"""
        name: shop
        {{engines}}
        services:
          web-shop:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: files
            database: {{database}}
        {{other}}
        """, Path.Combine(_dir.Path, "flotilla.yaml"));

    [Fact]
    public void Database_DefaultsToSqlite_NamedAfterTheService()
    {
        var spec = Parse("", "{ migrations: db/migrations }");
        var database = spec.Services[0].Database!;
        Assert.Equal(("web_shop", null, Path.Combine(_dir.Path, "db", "migrations")), (database.Name, database.Engine, database.Migrations));
        Assert.Empty(spec.EngineList);
        Assert.Equal("web_shop", Parse("", "").Services[0].Database!.Name);
    }

    [Fact]
    public void Engines_RunByFlotilla_OrExternal()
    {
        var spec = Parse("engines: { pg: { kind: postgres, replicas: 1 }, ext: { kind: postgres, external: { secret: pg-admin } } }", "{ engine: pg, name: orders }");
        Assert.Equal(new EngineSpec("pg", "postgres", 1, null, spec.EngineList[0].At), spec.EngineList[0]);
        Assert.Equal(("ext", "pg-admin", true), (spec.EngineList[1].Name, spec.EngineList[1].ExternalSecret, spec.EngineList[1].IsExternal));
        Assert.Equal(("orders", "pg"), (spec.Services[0].Database!.Name, spec.Services[0].Database!.Engine));
        Assert.Equal(EngineSpec.DefaultFailoverAfter, spec.EngineList[0].Failover);
        Assert.Equal(TimeSpan.Zero, Parse("engines: { pg: { kind: postgres, replicas: 1, failover: 0s } }", "{ engine: pg }").EngineList[0].Failover);
        Assert.Equal(TimeSpan.FromSeconds(30), Parse("engines: { pg: { kind: postgres, replicas: 1, failover: 30s } }", "{ engine: pg }").EngineList[0].Failover);
    }

    [Theory]
    [InlineData("engines: { pg: { kind: mysql } }", "{ engine: pg }", "engines.pg.kind", "unknown engine kind 'mysql'")]
    [InlineData("engines: { pg: { kind: postgress } }", "{}", "engines.pg.kind", "did you mean 'postgres'")]
    [InlineData("engines: { pg: { replicas: 1 } }", "{}", "engines.pg", "missing 'kind'")]
    [InlineData("engines: { pg: { kind: postgres, replicas: 9 } }", "{}", "engines.pg.replicas", "0 to 5")]
    [InlineData("engines: { pg: { kind: postgres, external: {} } }", "{}", "engines.pg.external", "admin connection string")]
    [InlineData("engines: { pg: { kind: postgres, replicas: 1, external: { secret: a } } }", "{}", "engines.pg.replicas", "external server's replicas")]
    [InlineData("engines: { pg: { kind: postgres, size: 3 } }", "{}", "engines.pg.size", "valid keys here: kind, replicas, external, failover")]
    [InlineData("engines: { pg: { kind: postgres, replicas: 1, failover: soon } }", "{}", "engines.pg.failover", "before a replica is promoted")]
    [InlineData("engines: { pg: { kind: postgres, failover: 5s, external: { secret: a } } }", "{}", "engines.pg.failover", "external server's failover")]
    [InlineData("runtime: swarm", "{ migrations: db/migrations }", "services.web-shop.database", "put the database on PostgreSQL that the nodes reach")]
    [InlineData("engines: { pg: { kind: postgres } }", "{ engine: pgg }", "services.web-shop.database.engine", "unknown engine 'pgg' (did you mean 'pg'?)")]
    [InlineData("", "{ engine: pg }", "services.web-shop.database.engine", "declares no engines")]
    [InlineData("", "{ name: Orders }", "services.web-shop.database.name", "not a valid database name")]
    [InlineData("", "{ migrations: nowhere }", "services.web-shop.database.migrations", "not a directory")]
    [InlineData("", "{ engin: pg }", "services.web-shop.database.engin", "did you mean 'engine'")]
    public void BadDatabases_AreRefused_WithTheirPosition(string engines, string database, string path, string fragment)
    {
        var errors = Assert.Throws<SpecException>(() => Parse(engines, database)).Errors;
        Assert.True(errors.Any(e => e.Path == path && e.Message.Contains(fragment, StringComparison.Ordinal) && e.At.Line > 0 && e.At.Column > 0),
            string.Join("\n", errors));
    }

    [Fact]
    public void TwoServices_CannotShareOneDatabase()
    {
        var errors = Assert.Throws<SpecException>(() => Parse("", "{ name: shared }", """
              other:
                command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
                files: files
                database: { name: shared }
            """)).Errors;
        Assert.Contains(errors, e => e.Path == "services.other.database.name" && e.Message.Contains("already the database of 'web-shop'", StringComparison.Ordinal));
    }

    private SystemSpec ParseIn(string? environment, string engines, string database, string environments) => SpecLoader.Parse($$"""
        name: shop
        {{engines}}
        services:
          web-shop:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: files
            database: {{database}}
          other:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: files
        environments:
        {{environments}}
        """, Path.Combine(_dir.Path, "flotilla.yaml"), environment);

    [Fact]
    public void AnEnvironment_MovesADatabase_ToItsOwnEngine_AndBackToSqlite()
    {
        const string environments = """
              dev: {}
              prod:
                engines: { pg: { kind: postgres, replicas: 1 } }
                services:
                  web-shop: { database: { engine: pg } }
              local:
                services:
                  web-shop: { database: { engine: sqlite } }
            """;
        var engines = "engines: { pg: { kind: postgres, external: { secret: pg-admin } } }";
        var baseline = ParseIn(null, engines, "{ engine: pg, migrations: db/migrations }", environments);
        Assert.Equal(("pg", true), (baseline.Services[0].Database!.Engine, baseline.EngineList.Single().IsExternal));
        // prod replaces the engine of the same name whole (run by Flotilla, a replica); the name and migrations stay.
        var prod = ParseIn("prod", engines, "{ engine: pg, migrations: db/migrations }", environments);
        var database = prod.Services.Single(s => s.Name == "web-shop").Database!;
        Assert.Equal(("web_shop", "pg", Path.Combine(_dir.Path, "db", "migrations")), (database.Name, database.Engine, database.Migrations));
        Assert.Equal(("pg", false, 1), (prod.EngineList.Single().Name, prod.EngineList.Single().IsExternal, prod.EngineList.Single().Replicas));
        Assert.Null(prod.Services.Single(s => s.Name == "other").Database);
        // local puts it in a SQLite file; dev keeps the base spec's.
        Assert.Null(ParseIn("local", engines, "{ engine: pg }", environments).Services[0].Database!.Engine);
        Assert.Equal("pg", ParseIn("dev", engines, "{ engine: pg }", environments).Services[0].Database!.Engine);
        // An engine only an environment declares: the base spec stays on SQLite.
        var sqliteFirst = ParseIn("prod", "", "{ migrations: db/migrations }", environments);
        Assert.Equal("pg", sqliteFirst.Services[0].Database!.Engine);
        Assert.Null(ParseIn(null, "", "{ migrations: db/migrations }", environments).Services[0].Database!.Engine);
    }

    [Theory]
    [InlineData("prod: { services: { web-shop: { database: { engine: pgg } } }, engines: { pg: { kind: postgres } } }", "environments.prod.services.web-shop.database.engine", "unknown engine 'pgg' (did you mean 'pg'?); engines here: pg, or 'sqlite'")]
    [InlineData("prod: { services: { web-shop: { database: { engine: pg } } } }", "environments.prod.services.web-shop.database.engine", "neither the spec nor environment 'prod' declares engines")]
    [InlineData("prod: { services: { other: { database: { engine: sqlite } } } }", "environments.prod.services.other.database", "service 'other' has no database in the base spec")]
    [InlineData("prod: { services: { web-shop: { database: { name: x } } } }", "environments.prod.services.web-shop.database.name", "valid keys here: engine")]
    [InlineData("prod: { services: { web-shop: { database: {} } } }", "environments.prod.services.web-shop.database", "say where the database lives")]
    [InlineData("prod: { engines: { pg: { kind: mysql } } }", "environments.prod.engines.pg.kind", "unknown engine kind 'mysql'")]
    [InlineData("prod: { engines: { sqlite: { kind: postgres } } }", "environments.prod.engines.sqlite", "'sqlite' is reserved")]
    [InlineData("prod: { engines: { pg: { kind: postgres, replicas: 7 } } }", "environments.prod.engines.pg.replicas", "0 to 5")]
    [InlineData("prod: { engine: { pg: { kind: postgres } } }", "environments.prod.engine", "did you mean 'engines'")]
    public void BadEnvironmentDatabases_AreRefused_WithTheirPosition_EvenWhenAnotherEnvironmentIsApplied(string environments, string path, string fragment)
    {
        var errors = Assert.Throws<SpecException>(() => ParseIn(null, "", "{ migrations: db/migrations }", "  " + environments)).Errors;
        Assert.True(errors.Any(e => e.Path == path && e.Message.Contains(fragment, StringComparison.Ordinal) && e.At.Line > 0 && e.At.Column > 0),
            string.Join("\n", errors));
    }
}
