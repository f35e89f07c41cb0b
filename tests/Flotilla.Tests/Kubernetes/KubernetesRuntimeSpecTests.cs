using Flotilla.Model;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Kubernetes;

/// <summary>
/// <c>runtime: kubernetes</c> in a spec: chosen per environment like swarm, and what cannot work on a
/// cluster is refused where it is declared (file:line:column): a service without an image (nodes
/// pull from a registry, not from this machine) and a SQLite database (a file on the control plane's machine).
/// </summary>
public sealed class KubernetesRuntimeSpecTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public void Dispose() => _dir.Dispose();

    private SystemSpec Parse(string yaml, string? env = null) => SpecLoader.Parse(yaml, Path.Combine(_dir.Path, "flotilla.yaml"), env);

    [Fact]
    public void AnEnvironment_RunsOnKubernetes_WhenItSaysSo()
    {
        const string yaml = "name: shop\nservices:\n  api: { image: 'registry.example/api:1', command: [serve] }\nenvironments:\n  prod: { runtime: kubernetes }\n  dev: {}\n";
        Assert.Equal(RuntimeKind.Kubernetes, Parse(yaml, "prod").RuntimeName);
        Assert.Equal(RuntimeKind.Local, Parse("name: shop\nservices:\n  api: { command: [serve] }\nenvironments:\n  prod: { runtime: kubernetes }\n  dev: {}\n", "dev").RuntimeName);
    }

    [Fact]
    public void AServiceWithoutAnImage_IsRefused_AtTheService()
    {
        _dir.Write("web/web.csproj", "<Project Sdk=\"Microsoft.NET.Sdk.Web\" />");
        const string yaml = "name: shop\nservices:\n  api: { command: [serve] }\n  web:\n    build: web\nenvironments:\n  prod: { runtime: kubernetes }\n";
        var errors = Assert.Throws<SpecException>(() => Parse(yaml, "prod")).Errors;
        var api = Assert.Single(errors, e => e.Path == "services.api.image");
        Assert.Equal((3, 8), (api.At.Line, api.At.Column));
        Assert.Contains("service 'api' has no image, but environment 'prod' runs on Kubernetes", api.Message, StringComparison.Ordinal);
        Assert.Contains("'image: REGISTRY/NAME:TAG'", api.Message, StringComparison.Ordinal);
        var web = Assert.Single(errors, e => e.Path == "services.web.image");
        Assert.Contains("(build:)", web.Message, StringComparison.Ordinal);
        Assert.Contains($"{Path.Combine(_dir.Path, "flotilla.yaml")}:3:8", new SpecException(errors).Message, StringComparison.Ordinal);
    }

    [Fact]
    public void ASqliteDatabase_IsRefused_AsOnSwarm()
    {
        Directory.CreateDirectory(Path.Combine(_dir.Path, "db"));
        const string yaml = "name: shop\nruntime: kubernetes\nservices:\n  api:\n    image: 'registry.example/api:1'\n    database: { migrations: db }\n";
        var error = Assert.Single(Assert.Throws<SpecException>(() => Parse(yaml)).Errors);
        Assert.Equal(("services.api.database", 6), (error.Path, error.At.Line));
        Assert.Contains("runs on Kubernetes, whose pods run on any node", error.Message, StringComparison.Ordinal);
    }
}
