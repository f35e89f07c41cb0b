using Flotilla.Kubernetes;
using Flotilla.Model;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Kubernetes;

/// <summary>The specs the Kubernetes tests render: the example shop, and a small one with zones, secrets and a prebuilt image.</summary>
internal static class KubernetesSpecs
{
    public static readonly string Shop = Path.Combine(Repository.Root, "examples", "shop");

    /// <summary>
    /// Render options with each artifact's digest fixed (by service name): the golden files must not
    /// change whenever someone edits an example service's code. The real digest is tested on its own.
    /// </summary>
    public static readonly KubernetesRenderOptions Options = new(ArtifactDigest: s =>
        s.Build is null && s.Files is null ? null : Convert.ToHexStringLower(System.Security.Cryptography.SHA256.HashData(System.Text.Encoding.UTF8.GetBytes(s.Name))));

    public const string Zoned = """
        name: pay
        runtime: docker
        zones: [eu-1a, eu-1b, eu-1c]
        services:
          api:
            image: registry.example.com/pay/api:1.4
            instances: 3
            resources: { cpu: 0.25, memory: 128Mi }
            http: { port: 9000, health: /healthz, ready: /ready }
            env: { LOG_LEVEL: info }
            secrets:
              DB_PASSWORD: { store: pay-db-password }
              TLS_KEY: { store: pay-tls, as: file }
            dependsOn: [ledger]
          ledger:
            command: [python3, -m, http.server, "${PORT}"]
            instances: 1
            resources: { cpu: 1, memory: 1Gi }
        environments:
          prod: { services: { api: { instances: 6 } } }
        """;

    public static SystemSpec LoadZoned(TempDirectory directory, string? environment = null) =>
        SpecLoader.Load(directory.Write("flotilla.yaml", Zoned), environment);
}
