using Flotilla.Hosting;
using Flotilla.Model;

namespace Flotilla.Tests.Hosting;

/// <summary>The injected environment contract: which endpoints a service is given.</summary>
public sealed class ServiceEnvironmentTests
{
    private const string Services = """
        name: shop
        services:
          web: { command: [x] }
          caller: { command: [x], references: [web] }
          worker: { command: [x], dependsOn: [web], references: [caller] }
          lonely: { command: [x] }
        """;

    private static readonly Dictionary<string, int> Endpoints = new(StringComparer.Ordinal)
    {
        // A blue-green preview endpoint is not a service: nobody is given it.
        ["web"] = 7001, ["web.preview"] = 7002, ["caller"] = 7003, ["worker"] = 7004, ["lonely"] = 7005, ["added"] = 7006,
    };

    private static IReadOnlyDictionary<string, string> EnvOf(string yaml, string service, string? environment = null)
    {
        var spec = SpecLoader.Parse(yaml, "/tmp/flotilla.yaml", environment);
        return ServiceEnvironment.For(spec, spec.Find(service)!, null, Endpoints);
    }

    private static string[] UrlVariables(IReadOnlyDictionary<string, string> env) =>
        env.Keys.Where(k => k.EndsWith("_URL", StringComparison.Ordinal) || k.StartsWith("services__", StringComparison.Ordinal)).Order(StringComparer.Ordinal).ToArray();

    [Fact]
    public void AService_IsGivenItsOwnEndpoint_AndThoseItNamesInDependsOnAndReferences_Only()
    {
        Assert.Equal(["CALLER_URL", "WEB_URL", "services__caller__http__0", "services__web__http__0"], UrlVariables(EnvOf(Services, "caller")));
        Assert.Equal(["CALLER_URL", "WEB_URL", "WORKER_URL", "services__caller__http__0", "services__web__http__0", "services__worker__http__0"],
            UrlVariables(EnvOf(Services, "worker")));
        Assert.Equal(["WEB_URL", "services__web__http__0"], UrlVariables(EnvOf(Services, "web")));
        Assert.Equal(["LONELY_URL", "services__lonely__http__0"], UrlVariables(EnvOf(Services, "lonely")));
        Assert.Equal("http://127.0.0.1:7001", EnvOf(Services, "caller")["WEB_URL"]);
        Assert.Equal("http://127.0.0.1:7001", EnvOf(Services, "caller")["services__web__http__0"]);
        Assert.Equal("2", EnvOf(Services, "caller")["FLOTILLA_CONTRACT"]);
    }

    [Fact]
    public void AddingAService_ChangesNoOtherServicesEnvironment_UnlessOneReferencesIt()
    {
        var grown = Services + "\n  added: { command: [x] }";

        foreach (var service in new[] { "web", "caller", "worker", "lonely" })
        {
            Assert.Equal(EnvOf(Services, service), EnvOf(grown, service));
        }
        var referencing = Services.Replace("lonely: { command: [x] }", "lonely: { command: [x], references: [added] }", StringComparison.Ordinal) + "\n  added: { command: [x] }";
        Assert.Equal("http://127.0.0.1:7006", EnvOf(referencing, "lonely")["ADDED_URL"]);
    }

    [Fact]
    public void References_HoldUnderAnEnvironmentOverlay()
    {
        var yaml = Services + "\nenvironments:\n  prod: { env: { MODE: prod }, services: { caller: { instances: 3 } } }\n";

        var env = EnvOf(yaml, "caller", "prod");
        Assert.Equal("http://127.0.0.1:7001", env["WEB_URL"]);
        Assert.Equal("prod", env["MODE"]);
        Assert.DoesNotContain("LONELY_URL", env.Keys);
    }
}
