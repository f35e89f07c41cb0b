using Flotilla.Model;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Model;

public sealed class SpecLoaderTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public SpecLoaderTests()
    {
        _dir.Write("svc/Svc.csproj", "<Project Sdk=\"Microsoft.NET.Sdk.Web\" />");
        _dir.Write("files/app.py", "print('hi')");
    }

    public void Dispose() => _dir.Dispose();

    private SystemSpec Parse(string yaml, string? env = null) => SpecLoader.Parse(yaml, Path.Combine(_dir.Path, "flotilla.yaml"), env);

    private IReadOnlyList<SpecError> Errors(string yaml, string? env = null) =>
        Assert.Throws<SpecException>(() => Parse(yaml, env)).Errors;

    private static void AssertError(IReadOnlyList<SpecError> errors, int line, int column, string path, string fragment) =>
        Assert.Contains(errors, e => e.At.Line == line && e.At.Column == column && e.Path == path && e.Message.Contains(fragment, StringComparison.Ordinal));

    private const string Valid = """
        name: shop
        services:
          api:
            build: svc
            instances: 3
            http: { port: 7001, health: /healthz, ready: /ready }
            env: { PAGE_SIZE: 20, MODE: fast }
            resources: { cpu: 500m, memory: 256Mi }
            timeouts: { start: 30s, drain: 2s, stop: 5s }
            restart: { backoff: 500ms, maxBackoff: 1m }
            dependsOn: [worker]
          worker:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: files
        environments:
          dev: { instances: 1, env: { MODE: slow } }
          prod:
            services:
              api: { instances: 6, env: { MODE: prod }, resources: { memory: 1Gi } }
        """;

    [Fact]
    public void ValidSpec_IsParsedIntoTypedModel_WithDependenciesFirst()
    {
        var spec = Parse(Valid);

        Assert.Equal("shop", spec.Name);
        Assert.Equal(["worker", "api"], spec.Services.Select(s => s.Name));
        var api = spec.Find("api")!;
        Assert.Equal(Path.Combine(_dir.Path, "svc", "Svc.csproj"), api.Build);
        Assert.Equal(3, api.Instances);
        Assert.Equal(new HttpSpec(7001, "/healthz", "/ready"), api.Http);
        Assert.Equal("20", api.Env["PAGE_SIZE"]);
        Assert.Equal(0.5, api.Resources!.Cpu);
        Assert.Equal(256L * 1024 * 1024, api.Resources.MemoryBytes);
        Assert.Equal(TimeSpan.FromSeconds(30), api.Timeouts.Start);
        Assert.Equal(TimeSpan.FromMilliseconds(500), api.Restart.Backoff);
        Assert.Equal(TimeSpan.FromMinutes(1), api.Restart.MaxBackoff);
        var worker = spec.Find("worker")!;
        Assert.Equal(["python3", "${ARTIFACT}/app.py", "${PORT}"], worker.Command);
        Assert.Equal(Path.Combine(_dir.Path, "files"), worker.Files);
        Assert.Equal(1, worker.Instances);
    }

    [Fact]
    public void EnvironmentWideOverlay_SetsEveryServiceAndOverridesEnv()
    {
        var spec = Parse(Valid, "dev");

        Assert.Equal("dev", spec.Environment);
        Assert.All(spec.Services, s => Assert.Equal(1, s.Instances));
        Assert.Equal("slow", spec.Find("api")!.Env["MODE"]);
        Assert.Equal("20", spec.Find("api")!.Env["PAGE_SIZE"]);
    }

    [Fact]
    public void PerServiceOverlay_WinsAndLeavesOtherServicesAlone()
    {
        var spec = Parse(Valid, "prod");

        var api = spec.Find("api")!;
        Assert.Equal(6, api.Instances);
        Assert.Equal("prod", api.Env["MODE"]);
        Assert.Equal(1L << 30, api.Resources!.MemoryBytes);
        Assert.Equal(0.5, api.Resources.Cpu);
        Assert.Equal(1, spec.Find("worker")!.Instances);
    }

    [Fact]
    public void UnknownEnvironment_IsAnErrorListingTheDeclaredOnes()
    {
        var error = Assert.Single(Errors(Valid, "staging"));
        Assert.Contains("'staging' is not declared (declared: dev, prod)", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void MalformedYaml_ReportsItsPosition()
    {
        var error = Assert.Single(Errors("name: shop\nservices:\n  api: [unclosed\n"));
        Assert.Contains("malformed YAML", error.Message, StringComparison.Ordinal);
        Assert.True(error.At.Line >= 3, error.ToString());
    }

    [Fact]
    public void UnclosedFlowSequence_BeforeMoreKeys_IsASpecError_NotACrash()
    {
        // Found by the apply fuzzer: YamlDotNet's loader throws InvalidOperationException here.
        var error = Assert.Single(Errors("name: shop\nservices:\n  api:\n    command: [app\n    instances: 0\n"));
        Assert.Contains("malformed YAML", error.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void Zones_AreReadAtTheTop_AndAnEnvironmentMayReplaceThem()
    {
        var spec = SpecLoader.Parse("name: shop\nzones: [a, b]\nservices:\n  api: { command: [x] }\nenvironments:\n  prod: { zones: [a, b, c] }\n  dev: {}\n", "/tmp/flotilla.yaml", "prod");
        Assert.Equal(["a", "b", "c"], spec.ZoneNames);
        Assert.Equal(["a", "b"], SpecLoader.Parse("name: shop\nzones: [a, b]\nservices:\n  api: { command: [x] }\nenvironments:\n  dev: {}\n", "/tmp/flotilla.yaml", "dev").ZoneNames);
        var errors = Errors("name: shop\nzones: [a, a, 'B C']\nservices:\n  api: { command: [x] }\n");
        Assert.Contains(errors, e => e.Message == "zone 'a' is listed twice");
        Assert.Contains(errors, e => e.Message.StartsWith("'B C' is not a valid zone name", StringComparison.Ordinal));
    }

    [Fact]
    public void UnknownKey_IsReportedAtItsPosition_WithSuggestion()
    {
        var errors = Errors("name: shop\nservices:\n  api:\n    build: svc\n    instnces: 2\n");
        AssertError(errors, 5, 5, "services.api.instnces", "did you mean 'instances'?");
    }

    [Fact]
    public void WrongTypesAndNegativeCounts_AreAllReportedInOnePass()
    {
        var errors = Errors("""
            name: shop
            services:
              api:
                build: svc
                instances: -1
                http: { port: 70000, health: healthz }
                env: [A, B]
              worker:
                command: python3 app.py
                instances: many
                timeouts: { start: soon }
                resources: { cpu: lots, memory: big }
            """);

        AssertError(errors, 5, 16, "services.api.instances", "got -1");
        AssertError(errors, 6, 19, "services.api.http.port", "got 70000");
        AssertError(errors, 6, 34, "services.api.http.health", "starting with '/'");
        AssertError(errors, 7, 10, "services.api.env", "must be a mapping");
        AssertError(errors, 10, 16, "services.worker.instances", "got 'many'");
        AssertError(errors, 11, 24, "services.worker.timeouts.start", "a duration");
        AssertError(errors, 12, 23, "services.worker.resources.cpu", "cores");
        AssertError(errors, 12, 37, "services.worker.resources.memory", "a size");
        Assert.Equal(8, errors.Count);
    }

    [Fact]
    public void BuildAndCommandTogether_OrNeither_AreErrors()
    {
        var errors = Errors("name: shop\nservices:\n  both:\n    build: svc\n    command: [x]\n  none:\n    instances: 1\n");
        AssertError(errors, 5, 14, "services.both.command", "not both");
        AssertError(errors, 7, 5, "services.none", "says nothing to run");
    }

    [Fact]
    public void MissingBuildDirectory_NamesThePathLookedFor()
    {
        var errors = Errors("name: shop\nservices:\n  api:\n    build: nowhere\n");
        AssertError(errors, 4, 12, "services.api.build", "'nowhere' does not exist");
    }

    [Fact]
    public void UnknownDependency_And_SelfDependency_AreErrors()
    {
        var errors = Errors("name: shop\nservices:\n  api:\n    build: svc\n    dependsOn: [db, api]\n");
        AssertError(errors, 5, 17, "services.api.dependsOn", "unknown service 'db'; services declared: api");
        AssertError(errors, 5, 21, "services.api.dependsOn", "cannot depend on itself");
    }

    [Fact]
    public void Runtime_IsChosenPerEnvironment_AndAnUnknownOrPlannedOneIsAnError()
    {
        const string yaml = "name: shop\nruntime: local\nservices:\n  api: { command: [x] }\nenvironments:\n  box: { runtime: docker }\n  plain: {}\n";
        Assert.Equal("local", Parse(yaml).RuntimeName);
        Assert.Equal("docker", Parse(yaml, "box").RuntimeName);
        Assert.Equal("local", Parse(yaml, "plain").RuntimeName);
        Assert.Equal("local", Parse("name: shop\nservices:\n  api: { command: [x] }\n").RuntimeName);
        Assert.Equal("kubernetes", Parse("name: shop\nruntime: kubernetes\nservices:\n  api: { image: 'r.example/api:1' }\n").RuntimeName);
        AssertError(Errors("name: shop\nservices:\n  api: { command: [x] }\nenvironments:\n  e: { runtime: dokcer }\n"), 5, 17, "environments.e.runtime", "unknown runtime 'dokcer': one of local, docker, swarm, kubernetes");
    }

    [Fact]
    public void AnImage_RunsOnlyOnDocker_BringsItsOwnFiles_AndIsAReference()
    {
        const string yaml = "name: shop\nservices:\n  cache: { image: 'redis:7', command: [redis-server] }\nenvironments:\n  box: { runtime: docker }\n";
        Assert.Equal("redis:7", Parse(yaml, "box").Find("cache")!.Image);
        Assert.Null(Parse("name: shop\nruntime: docker\nservices:\n  cache: { image: 'redis:7' }\n").Find("cache")!.Command);
        AssertError(Errors(yaml), 3, 10, "services.cache.image", "runs image 'redis:7', which needs 'runtime: docker', 'swarm' or 'kubernetes' (this spec runs on local)");
        AssertError(Errors("name: shop\nruntime: docker\nservices:\n  a: { image: 'x:1', files: . }\n"), 4, 15, "services.a.image", "an image brings its own files: a service has either 'image' or 'files', not both");
        AssertError(Errors("name: shop\nruntime: docker\nservices:\n  a: { image: 'Bad Name' }\n"), 4, 15, "services.a.image", "'Bad Name' is not an image reference: lower-case name[:tag] (e.g. 'nginx:1.25' or 'registry.local/team/app:v2')");
    }

    [Fact]
    public void UnknownReference_And_SelfReference_AreErrors_WithADidYouMean()
    {
        var errors = Errors("name: shop\nservices:\n  api:\n    command: [x]\n    references: [wroker, api]\n  worker: { command: [x] }\n");
        AssertError(errors, 5, 18, "services.api.references", "unknown service 'wroker' (did you mean 'worker'?); services declared: api, worker");
        AssertError(errors, 5, 26, "services.api.references", "own endpoint without referencing itself");
        Assert.Equal(2, errors.Count);
        var notAList = Assert.Single(Errors("name: shop\nservices:\n  api:\n    command: [x]\n    references: worker\n"));
        Assert.Contains("must be a list of service names", notAList.Message, StringComparison.Ordinal);
    }

    [Fact]
    public void References_OrderNoStartup_MayBeMutual_AndSurviveEveryEnvironment()
    {
        const string yaml = """
            name: shop
            services:
              api: { command: [x], references: [worker] }
              worker: { command: [x], references: [api] }
            environments:
              prod: { services: { api: { instances: 2 } } }
            """;
        foreach (var env in new string?[] { null, "prod" })
        {
            var spec = Parse(yaml, env);
            Assert.Equal(["api", "worker"], spec.Services.Select(s => s.Name));
            Assert.Equal(["worker"], spec.Find("api")!.References.Select(r => r.Name));
            Assert.Equal(["api"], spec.Find("worker")!.References.Select(r => r.Name));
        }
    }

    [Fact]
    public void DependencyCycle_IsReportedOnceWithItsPath()
    {
        var errors = Errors("""
            name: shop
            services:
              a: { command: [x], dependsOn: [b] }
              b: { command: [x], dependsOn: [c] }
              c: { command: [x], dependsOn: [a] }
            """);

        var error = Assert.Single(errors);
        Assert.Contains("dependency cycle: a -> b -> c -> a", error.Message, StringComparison.Ordinal);
        Assert.Equal(5, error.At.Line);
    }

    [Fact]
    public void DuplicateEndpointPorts_AreErrors()
    {
        var errors = Errors("name: shop\nservices:\n  a: { command: [x], http: { port: 7001 } }\n  b: { command: [x], http: { port: 7001 } }\n");
        AssertError(errors, 4, 6, "services.b.http.port", "already the endpoint of 'a'");
    }

    [Fact]
    public void InvalidNames_AndMissingTopLevelKeys_AreErrors()
    {
        var errors = Errors("services:\n  Bad_Name: { command: [x] }\n");
        AssertError(errors, 2, 3, "services.Bad_Name", "not a valid service name");
        Assert.Contains(errors, e => e.Path == "name" && e.Message.Contains("missing", StringComparison.Ordinal));
    }

    [Fact]
    public void OverlayOfUnknownService_IsAnError()
    {
        var errors = Errors("name: shop\nservices:\n  a: { command: [x] }\nenvironments:\n  prod:\n    services:\n      b: { instances: 2 }\n");
        AssertError(errors, 7, 10, "environments.prod.services", "unknown service 'b'");
    }

    [Fact]
    public void EmptyFile_AndMissingFile_SayWhatIsNeeded()
    {
        Assert.Contains("empty", Assert.Single(Errors("")).Message, StringComparison.Ordinal);
        var missing = Assert.Throws<SpecException>(() => SpecLoader.Load(Path.Combine(_dir.Path, "nothing-here")));
        Assert.Contains("no spec file", Assert.Single(missing.Errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ExampleShop_IsValid_InEveryEnvironment()
    {
        var shop = Path.Combine(Repository.Root, "examples", "shop");
        foreach (var env in new string?[] { null, "dev", "prod" })
        {
            var spec = SpecLoader.Load(shop, env);
            Assert.True(spec.Services.Count >= 4);
            Assert.Contains(spec.Services, s => s.Command is not null);
        }
    }
}
