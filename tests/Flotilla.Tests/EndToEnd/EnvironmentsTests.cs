using System.Net;
using System.Net.Sockets;
using System.Text;
using System.Text.Json.Nodes;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.EndToEnd;

/// <summary>Two environments of one spec side by side on one server, separated; promotion of the exact artifact between them.</summary>
[Collection(ProcessHeavy.Name)]
public sealed class EnvironmentsTests
{
    private static readonly string Reviews = Path.Combine(Repository.Root, "examples", "shop", "services", "Reviews");

    /// <summary>A port that is free, with the next one free too (the staging offset is 1).</summary>
    private static int FreePortPair()
    {
        for (var attempt = 0; attempt < 50; attempt++)
        {
            var first = new TcpListener(IPAddress.Loopback, 0);
            first.Start();
            var port = ((IPEndPoint)first.LocalEndpoint).Port;
            try
            {
                var second = new TcpListener(IPAddress.Loopback, port + 1);
                second.Start();
                second.Stop();
                return port;
            }
            catch (SocketException)
            {
            }
            finally
            {
                first.Stop();
            }
        }
        throw new InvalidOperationException("no two free ports in a row");
    }

    /// <summary>A variable of an instance's environment; null once its process is gone (a rollout can replace it between `ps` and this read).</summary>
    private static string? InstanceEnv(int pid, string name)
    {
        string environ;
        try
        {
            environ = File.ReadAllText($"/proc/{pid}/environ");
        }
        catch (IOException)
        {
            return null;
        }
        return environ.Split('\0').FirstOrDefault(v => v.StartsWith(name + "=", StringComparison.Ordinal))?[(name.Length + 1)..];
    }

    private static async Task<List<JsonNode>> ReviewsAsync(ServerHarness harness, string env) =>
        (await harness.JsonAsync("ps", "--env", env)).AsArray().Select(i => i!).Where(i => string.Equals((string?)i["state"], "ready", StringComparison.OrdinalIgnoreCase)).ToList();

    [Fact]
    public async Task StagingAndProd_RunSideBySide_Separated_AndPromoteMovesTheExactArtifact()
    {
        using var harness = new ServerHarness();
        using var sources = new TempDirectory("flotilla-reviews");
        foreach (var file in Directory.GetFiles(Reviews))
        {
            File.Copy(file, Path.Combine(sources.Path, Path.GetFileName(file)));
        }
        var port = FreePortPair();
        harness.WriteSpec($$"""
            name: envs-test
            flags: flags.json
            services:
              reviews:
                command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
                files: {{sources.Path}}
                http: { port: {{port}}, health: /healthz, ready: /ready }
            environments:
              prod: { env: { STAGE: prod } }
              staging: { portOffset: 1, flags: staging-flags.json, env: { STAGE: staging } }
            """);
        File.WriteAllText(Path.Combine(harness.SpecDirectory, "flags.json"), """{"flags": {"banner": {"state": "ENABLED", "variants": {"plain": "Welcome", "sale": "Sale"}, "defaultVariant": "plain"}}}""");
        File.WriteAllText(Path.Combine(harness.SpecDirectory, "staging-flags.json"), """{"flags": {"banner": {"state": "ENABLED", "variants": {"plain": "Welcome", "sale": "Sale"}, "defaultVariant": "sale"}}}""");
        await harness.StartServerAsync();
        var (code, output) = await harness.CliAsync("apply", "-f", harness.SpecDirectory, "--env", "prod", "--wait");
        Assert.True(code == 0, output);

        // Staging gets a newer reviews (a changed source: another artifact) and its own control plane.
        File.AppendAllText(Path.Combine(sources.Path, "app.py"), "\n# staging build\n");
        (code, output) = await harness.CliAsync("apply", "-f", harness.SpecDirectory, "--env", "staging", "--wait");
        Assert.True(code == 0, output);
        var environments = (await harness.JsonAsync("environments")).AsArray();
        Assert.Equal(["prod", "staging"], environments.Select(e => (string?)e!["environment"]).ToList());

        // Separated: own instances, endpoints (the offset), flags, configuration.
        var prod = (await ReviewsAsync(harness, "prod")).Single();
        var staging = (await ReviewsAsync(harness, "staging")).Single();
        Assert.NotEqual((int)prod["pid"]!, (int)staging["pid"]!);
        Assert.Equal((port, port + 1), ((int)(await harness.JsonAsync("status", "--env", "prod"))["services"]![0]!["endpointPort"]!,
            (int)(await harness.JsonAsync("status", "--env", "staging"))["services"]![0]!["endpointPort"]!));
        var prodFlags = (string)(await harness.JsonAsync("flags", "list", "--env", "prod"))["url"]!;
        var stagingFlags = (string)(await harness.JsonAsync("flags", "list", "--env", "staging"))["url"]!;
        Assert.NotEqual(prodFlags, stagingFlags);
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        async Task<string?> Banner(string url) =>
            (string?)JsonNode.Parse(await (await http.PostAsync($"{url}/ofrep/v1/evaluate/flags/banner", new StringContent("{}", Encoding.UTF8, "application/json"))).Content.ReadAsStringAsync())!["value"];
        Assert.Equal(("Welcome", "Sale"), (await Banner(prodFlags), await Banner(stagingFlags)));
        var stagingDigest = InstanceEnv((int)staging["pid"]!, "FLOTILLA_ARTIFACT_DIGEST")!;
        // One build cache per server, addressed by content: staging's build is where prod will find it.
        Assert.StartsWith(Path.Combine(harness.DataDirectory, "artifacts") + "/", InstanceEnv((int)staging["pid"]!, "ARTIFACT"), StringComparison.Ordinal);
        var first = InstanceEnv((int)prod["pid"]!, "FLOTILLA_ARTIFACT_DIGEST");
        Assert.NotEqual(first, stagingDigest);
        Assert.Equal(0, (await harness.CliAsync("stop", "reviews", "--env", "staging")).Code);
        await Eventually.Until(async () => (await ReviewsAsync(harness, "staging")).Count == 0, ServerHarness.Wait, "staging's reviews to stop");
        Assert.Equal((int)prod["pid"]!, (int)(await ReviewsAsync(harness, "prod")).Single()["pid"]!);
        Assert.Equal(0, (await harness.CliAsync("start", "reviews", "--env", "staging")).Code);

        // Promote: prod runs staging's exact artifact (same digest, no rebuild) with prod's own configuration.
        (code, output) = await harness.CliAsync("promote", "reviews", "--from", "staging", "--to", "prod");
        Assert.True(code == 0, output);
        Assert.Contains($"promote reviews digest {stagingDigest[..12]} from staging", output, StringComparison.Ordinal);
        await Eventually.Until(async () => await ReviewsAsync(harness, "prod") is [var only] && InstanceEnv((int)only["pid"]!, "FLOTILLA_ARTIFACT_DIGEST") == stagingDigest,
            ServerHarness.Wait, "prod to run staging's artifact");
        var promoted = (await ReviewsAsync(harness, "prod")).Single();
        Assert.Equal("prod", InstanceEnv((int)promoted["pid"]!, "STAGE"));
        Assert.Equal($"http://127.0.0.1:{port}", InstanceEnv((int)promoted["pid"]!, "REVIEWS_URL"));
        var history = (await harness.JsonAsync("history", "--env", "prod")).AsArray();
        Assert.Contains($"digest {stagingDigest[..12]} from staging", (string?)history[0]!["summary"], StringComparison.Ordinal);
        (code, output) = await harness.CliAsync("promote", "reviews", "--from", "staging", "--to", "prod");
        Assert.True(code == 1 && output.Contains("already runs the artifacts", StringComparison.Ordinal), output);

        // Any revision can be applied again, exactly as it ran: prod back on its first artifact, nothing rebuilt.
        (code, output) = await harness.CliAsync("apply", "--revision", "1", "--env", "prod", "--wait");
        Assert.True(code == 0 && output.Contains("re-apply revision 1", StringComparison.Ordinal), output);
        Assert.Equal(first, InstanceEnv((int)(await ReviewsAsync(harness, "prod")).Single()["pid"]!, "FLOTILLA_ARTIFACT_DIGEST"));
        (code, output) = await harness.CliAsync("apply", "--revision", "99", "--env", "prod");
        Assert.True(code == 1 && output.Contains("no revision 99", StringComparison.Ordinal), output);

        // A restarted server runs both environments again.
        harness.Server.Interrupt();
        await harness.Server.WaitForExitAsync(ServerHarness.Wait);
        await harness.StartServerAsync("re-adopted");
        Assert.Equal(2, (await harness.JsonAsync("environments")).AsArray().Count);
        (code, output) = await harness.CliAsync("status", "--env", "qa");
        Assert.True(code == 1 && output.Contains("environment 'qa' does not run on this server", StringComparison.Ordinal), output);
    }
}
