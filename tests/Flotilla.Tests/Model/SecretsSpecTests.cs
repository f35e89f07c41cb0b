using Flotilla.Model;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Model;

/// <summary>secrets: in a service: where each value is, refused with its position when it cannot be used.</summary>
public sealed class SecretsSpecTests : IDisposable
{
    private readonly TempDirectory _dir = new();

    public SecretsSpecTests()
    {
        _dir.Write("files/app.py", "print('hi')");
        _dir.Write("tls.key", "not shown");
    }

    public void Dispose() => _dir.Dispose();

    private SystemSpec Parse(string secrets) => SpecLoader.Parse($$"""
        name: shop
        services:
          web:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: files
            secrets: {{secrets}}
        """, Path.Combine(_dir.Path, "flotilla.yaml"));

    [Fact]
    public void Secrets_FromTheStoreOrAFile_AsAVariableOrAFile()
    {
        var secrets = Parse("{ DB_PASSWORD: { store: db-password }, TLS_KEY: { file: tls.key, as: file } }").Services[0].Secrets;
        Assert.Equal(new SecretSpec("DB_PASSWORD", "db-password", null, false, secrets[0].At), secrets[0]);
        Assert.Equal((Path.Combine(_dir.Path, "tls.key"), true), (secrets[1].File, secrets[1].AsFile));
    }

    [Theory]
    [InlineData("{ A: { store: x, file: tls.key } }", "services.web.secrets.A", "exactly one of")]
    [InlineData("{ A: {} }", "services.web.secrets.A", "exactly one of")]
    [InlineData("{ A: { store: x, as: disk } }", "services.web.secrets.A.as", "must be env")]
    [InlineData("{ A: { file: nope.key } }", "services.web.secrets.A.file", "not found")]
    [InlineData("{ 1A: { store: x } }", "services.web.secrets.1A", "environment variable")]
    [InlineData("{ A: { stor: x } }", "services.web.secrets.A.stor", "did you mean 'store'")]
    public void BadSecrets_AreRefused_WithTheirPath(string secrets, string path, string fragment)
    {
        var errors = Assert.Throws<SpecException>(() => Parse(secrets)).Errors;
        Assert.Contains(errors, e => e.Path == path && e.Message.Contains(fragment, StringComparison.Ordinal) && e.At.Line > 0);
    }
}
