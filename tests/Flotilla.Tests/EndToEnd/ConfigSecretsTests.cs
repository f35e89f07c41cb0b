using System.Text;
using System.Text.Json.Nodes;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.EndToEnd;

/// <summary>Configuration with its provenance, and secrets that reach instances but nothing else.</summary>
[Collection(ProcessHeavy.Name)]
public sealed class ConfigSecretsTests
{
    private static readonly string Reviews = Path.Combine(Repository.Root, "examples", "shop", "services", "Reviews");

    private static string Spec(string store = "db-password") => $$"""
        name: secrets-test
        services:
          reviews:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: {{Reviews}}
            http: { health: /healthz, ready: /ready }
            env: { REVIEWS_VERSION: "1.0.0" }
            secrets:
              DB_PASSWORD: { store: {{store}} }
              TLS_KEY: { file: tls.key, as: file }
        environments:
          prod:
            env: { STAGE: prod }
        """;

    private static string[] Environ(int pid) => File.ReadAllText($"/proc/{pid}/environ").Split('\0');

    private static string Variable(int pid, string name) => Environ(pid).Single(v => v.StartsWith(name + "=", StringComparison.Ordinal))[(name.Length + 1)..];

    [Fact]
    public async Task Secrets_ReachTheInstance_AndNoOutputNorFileOfTheDataDirectory_AndConfigSaysWhereEachValueCameFrom()
    {
        using var harness = new ServerHarness();
        using var outside = new TempDirectory("flotilla-secret-input");
        var password = $"pw-{Guid.NewGuid():N}";
        var rotated = $"pw-{Guid.NewGuid():N}";
        var tlsKey = $"key-{Guid.NewGuid():N}";
        harness.WriteSpec(Spec());
        File.WriteAllText(Path.Combine(harness.SpecDirectory, "tls.key"), tlsKey);
        var outputs = new StringBuilder();
        async Task<(int Code, string Output)> Cli(params string[] args)
        {
            var result = await harness.CliAsync(args);
            outputs.AppendLine(result.Output);
            return result;
        }
        var server = await harness.StartServerAsync();

        // A secret the store does not have refuses the apply, by name.
        var (code, output) = await Cli("apply", "-f", harness.SpecDirectory, "--env", "prod");
        Assert.True(code == 1 && output.Contains("secret 'db-password' (DB_PASSWORD) is not in this environment's secret store", StringComparison.Ordinal), output);

        File.WriteAllText(Path.Combine(outside.Path, "password"), password);
        (code, output) = await Cli("secret", "set", "db-password", "--from-file", Path.Combine(outside.Path, "password"), "--env", "prod");
        Assert.True(code == 0 && output.Contains("version 1", StringComparison.Ordinal), output);
        (code, output) = await Cli("apply", "-f", harness.SpecDirectory, "--env", "prod", "--wait");
        Assert.True(code == 0, output);

        var pid = (int)(await harness.JsonAsync("ps", "--env", "prod")).AsArray().Single()!["pid"]!;
        Assert.Equal(password, Variable(pid, "DB_PASSWORD"));
        var keyFile = Variable(pid, "TLS_KEY");
        Assert.StartsWith("/dev/shm/", keyFile, StringComparison.Ordinal);
        Assert.Equal(tlsKey, File.ReadAllText(keyFile));

        // Where each value came from; secrets named, never shown.
        var config = (await harness.JsonAsync("config", "reviews", "--env", "prod"))["variables"]!.AsArray().ToDictionary(v => (string)v!["name"]!, v => v!);
        Assert.Equal(("1.0.0", "services.reviews.env"), ((string?)config["REVIEWS_VERSION"]["value"], (string?)config["REVIEWS_VERSION"]["source"]));
        Assert.Equal(("prod", "environments.prod.env"), ((string?)config["STAGE"]["value"], (string?)config["STAGE"]["source"]));
        Assert.Equal(("(secret)", "secret store 'db-password'"), ((string?)config["DB_PASSWORD"]["value"], (string?)config["DB_PASSWORD"]["source"]));
        Assert.Equal("(secret, as a file)", (string?)config["TLS_KEY"]["value"]);
        Assert.Equal("flotilla", (string?)config["FLOTILLA_SERVICE"]["source"]);
        outputs.AppendLine((await Cli("config", "reviews", "--env", "prod")).Output);

        // Rotation: the next apply is a new revision, and the new instance has the new value.
        File.WriteAllText(Path.Combine(outside.Path, "password"), rotated);
        Assert.Equal(0, (await Cli("secret", "set", "db-password", "--from-file", Path.Combine(outside.Path, "password"), "--env", "prod")).Code);
        (code, output) = await Cli("apply", "-f", harness.SpecDirectory, "--env", "prod", "--wait");
        Assert.True(code == 0 && output.Contains("revision 2 applied", StringComparison.Ordinal), output);
        await Eventually.Until(async () => (await harness.JsonAsync("ps", "--env", "prod")).AsArray() is [var only] && (int)only!["pid"]! != pid,
            ServerHarness.Wait, "the instance to be replaced with the rotated secret");
        var next = (int)(await harness.JsonAsync("ps", "--env", "prod")).AsArray().Single()!["pid"]!;
        Assert.Equal(rotated, Variable(next, "DB_PASSWORD"));
        await Eventually.Until(() => !File.Exists(keyFile), ServerHarness.Wait, "the replaced instance's secret file to be removed");

        // Nothing a user or an operator reads holds a value: every output, every file of the data directory.
        foreach (var args in new[] { new[] { "status" }, ["ps"], ["history"], ["history", "--audit"], ["events"], ["secret", "list"], ["diff"], ["environments"] })
        {
            await Cli([.. args, "--env", "prod"]);
            await Cli([.. args, "--env", "prod", "-o", "json"]);
        }
        var seen = outputs + string.Join("\n", server.Lines);
        foreach (var secret in new[] { password, rotated, tlsKey })
        {
            Assert.DoesNotContain(secret, seen, StringComparison.Ordinal);
            // The lock file is held with flock (.NET will not open it); it holds the server's pid only.
            foreach (var file in Directory.EnumerateFiles(harness.DataDirectory, "*", SearchOption.AllDirectories).Where(f => Path.GetFileName(f) != "flotilla.lock"))
            {
                var bytes = await File.ReadAllBytesAsync(file);
                Assert.True(bytes.AsSpan().IndexOf(Encoding.UTF8.GetBytes(secret)) < 0, $"{file} holds a secret value");
            }
        }
        Assert.Contains((await harness.JsonAsync("history", "--audit", "--env", "prod")).AsArray(), a => (string?)a!["detail"] == "secret db-password: version 2");

        // Stopping everything removes the last instance's secret file too (it is in memory, outside any directory a test removes).
        var lastKeyFile = Variable(next, "TLS_KEY");
        Assert.True(File.Exists(lastKeyFile), lastKeyFile);
        Assert.Equal(0, (await Cli("shutdown", "--stop-all")).Code);
        await Eventually.Until(() => !File.Exists(lastKeyFile) && !Directory.Exists(Path.GetDirectoryName(lastKeyFile)), ServerHarness.Wait, "the last instance's secret file to be removed at shutdown --stop-all");
    }
}
