using System.Net;
using System.Text;
using System.Text.Json.Nodes;
using Flotilla.Flags.Logic;
using Flotilla.Runtime;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.EndToEnd;

/// <summary>Feature flags through a real server, its router process, the CLI and OFREP over HTTP.</summary>
[Collection(ProcessHeavy.Name)]
public sealed class FlagsServerTests
{
    private static readonly string Reviews = Path.Combine(Repository.Root, "examples", "shop", "services", "Reviews");

    private const string Flags = """
        {
          "$evaluators": {"inNetherlands": {"==": [{"var": "country"}, "NL"]}},
          "flags": {
            "new-pricing": {
              "state": "ENABLED",
              "variants": {"on": true, "off": false},
              "defaultVariant": "off",
              "targeting": {"if": [{"$ref": "inNetherlands"}, "on", {"fractional": [["on", 20], ["off", 80]]}]}
            },
            "banner": {"state": "ENABLED", "variants": {"plain": "Welcome", "sale": "Sale"}, "defaultVariant": "plain"}
          }
        }
        """;

    private static string Spec => $$"""
        name: flags-test
        flags: flags.json
        services:
          reviews:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: {{Reviews}}
            instances: 2
            http: { health: /healthz, ready: /ready }
        """;

    private static async Task<JsonObject> EvaluateAsync(HttpClient http, string url, string flag, string context)
    {
        using var response = await http.PostAsync($"{url}/ofrep/v1/evaluate/flags/{flag}", new StringContent($$"""{"context": {{context}}}""", Encoding.UTF8, "application/json"));
        return JsonNode.Parse(await response.Content.ReadAsStringAsync())!.AsObject();
    }

    private static bool? Value(JsonObject answer) => answer["value"] is JsonValue v ? v.GetValue<bool>() : null;

    /// <summary>A user's point (0..99) in a fractional split of a flag: flagd hashes the flag key followed by the targeting key.</summary>
    private static ulong FractionalPoint(string flag, string targetingKey) =>
        MurmurHash3.Hash32(Encoding.UTF8.GetBytes(flag + targetingKey)) * 100UL >> 32;

    [Fact]
    public async Task Flags_AreServedToInstances_ChangedLive_Audited_AndOutliveTheControlPlane()
    {
        using var harness = new ServerHarness();
        harness.WriteSpec(Spec);
        var flagFile = Path.Combine(harness.SpecDirectory, "flags.json");
        File.WriteAllText(flagFile, Flags);
        var first = await harness.StartServerAsync();
        var (code, output) = await harness.CliAsync("apply", "-f", harness.SpecDirectory, "--wait");
        Assert.True(code == 0, output);
        Assert.Contains("+flag new-pricing, +flag banner", output, StringComparison.Ordinal);

        var list = await harness.JsonAsync("flags", "list");
        var url = (string)list["url"]!;
        var pids = (await harness.JsonAsync("ps")).AsArray().Select(i => (int)i!["pid"]!).Order().ToList();
        Assert.Equal(2, pids.Count);
        // Every instance is told where to evaluate flags.
        foreach (var pid in pids)
        {
            var environ = File.ReadAllText($"/proc/{pid}/environ").Split('\0');
            Assert.Contains($"FLOTILLA_FLAGS_URL={url}", environ);
        }

        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        Assert.True(Value(await EvaluateAsync(http, url, "new-pricing", """{"targetingKey": "alice", "country": "NL"}""")));
        // The URL holds the environment's access key: the port alone (all another tenant's instance could know) reads nothing.
        var root = new Uri(url).GetLeftPart(UriPartial.Authority);
        Assert.NotEqual(root, url.TrimEnd('/'));
        using (var bare = await http.PostAsync($"{root}/ofrep/v1/evaluate/flags/new-pricing", new StringContent("{}", Encoding.UTF8, "application/json")))
        {
            Assert.Equal(System.Net.HttpStatusCode.NotFound, bare.StatusCode);
        }

        // On for one user: live, no instance restarted, audited with old -> new, and drift from the spec.
        (code, output) = await harness.CliAsync("flags", "set", "new-pricing", "--targeting", """{"if": [{"==": [{"var": "targetingKey"}, "alice"]}, "on", "off"]}""");
        Assert.True(code == 0, output);
        Assert.True(Value(await EvaluateAsync(http, url, "new-pricing", """{"targetingKey": "alice"}""")));
        Assert.False(Value(await EvaluateAsync(http, url, "new-pricing", """{"targetingKey": "bob", "country": "NL"}""")));
        Assert.Equal(pids, (await harness.JsonAsync("ps")).AsArray().Select(i => (int)i!["pid"]!).Order().ToList());
        var audit = (await harness.JsonAsync("history", "--audit")).AsArray();
        var change = audit.First(a => (string?)a!["action"] == "flag set")!;
        Assert.Equal("token:admin", (string?)change["actor"]);
        Assert.Contains("targeting {\"if\":[{\"$ref\":\"inNetherlands\"}", (string?)change["detail"], StringComparison.Ordinal);
        Assert.Contains("→{\"if\":[{\"==\":[{\"var\":\"targetingKey\"},\"alice\"]}", (string?)change["detail"], StringComparison.Ordinal);
        (code, output) = await harness.CliAsync("diff");
        Assert.True(code == 2 && output.Contains("new-pricing", StringComparison.Ordinal), output);

        // Disabled: a successful evaluation with reason DISABLED and no value (the caller's default applies).
        Assert.Equal(0, (await harness.CliAsync("flags", "disable", "banner")).Code);
        var banner = await EvaluateAsync(http, url, "banner", "{}");
        Assert.Equal("DISABLED", (string?)banner["reason"]);
        Assert.Null(banner["value"]);

        // What an SDK asking for another type would report; a flag that is not in the spec cannot be changed.
        (code, output) = await harness.CliAsync("flags", "eval", "new-pricing", "-c", """{"targetingKey": "alice"}""", "--type", "string");
        Assert.True(code == 1 && output.Contains("TYPE_MISMATCH", StringComparison.Ordinal), output);
        (code, output) = await harness.CliAsync("flags", "enable", "nope");
        Assert.True(code == 1 && output.Contains("not in the spec", StringComparison.Ordinal), output);
        (code, output) = await harness.CliAsync("flags", "list", "--env", "prod");
        Assert.True(code == 1 && output.Contains("environment 'prod' does not run on this server", StringComparison.Ordinal), output);

        // A flag file flagd refuses too (a state that is not a string) is refused at apply with its position; the flags served do not change.
        File.WriteAllText(flagFile, Flags.Replace("\"state\": \"ENABLED\",\n      \"variants\": {\"on\": true", "\"state\": 1,\n      \"variants\": {\"on\": true", StringComparison.Ordinal));
        (code, output) = await harness.CliAsync("apply", "-f", harness.SpecDirectory);
        Assert.True(code == 1, output);
        Assert.True(output.Contains($"{flagFile}:5:16:", StringComparison.Ordinal), output);
        Assert.Contains("flags.new-pricing.state: must be \"ENABLED\" or \"DISABLED\"", output, StringComparison.Ordinal);
        Assert.True(Value(await EvaluateAsync(http, url, "new-pricing", """{"targetingKey": "alice"}""")));

        // The control plane killed: the router keeps evaluating; the next one serves the runtime changes from the store.
        Posix.Signal(first.Pid, Posix.SIGKILL);
        await first.WaitForExitAsync(ServerHarness.Wait);
        Assert.True(Value(await EvaluateAsync(http, url, "new-pricing", """{"targetingKey": "alice"}""")));
        await harness.StartServerAsync("re-adopted");
        var again = await harness.JsonAsync("flags", "get", "new-pricing");
        Assert.Equal("runtime", (string?)again["source"]);
        Assert.Equal("DISABLED", (string?)(await harness.JsonAsync("flags", "get", "banner"))["state"]);

        // A new revision that changes the flag supersedes the runtime change (the newest intent wins); the other stays.
        File.WriteAllText(flagFile, Flags.Replace("[\"on\", 20], [\"off\", 80]", "[\"on\", 50], [\"off\", 50]", StringComparison.Ordinal));
        (code, output) = await harness.CliAsync("apply", "-f", harness.SpecDirectory);
        Assert.True(code == 0, output);
        Assert.Contains("flag new-pricing changed", output, StringComparison.Ordinal);
        Assert.Equal("spec", (string?)(await harness.JsonAsync("flags", "get", "new-pricing"))["source"]);
        Assert.Equal("runtime", (string?)(await harness.JsonAsync("flags", "get", "banner"))["source"]);
        // Served is the new rule, told apart from the two before it by two users: bob's bucket is in [20, 50), on only at 50%;
        // alice's is past 50, on only under the runtime rule the new revision superseded.
        Assert.InRange(FractionalPoint("new-pricing", "bob"), 20UL, 49UL);
        Assert.InRange(FractionalPoint("new-pricing", "alice"), 50UL, 99UL);
        Assert.True(Value(await EvaluateAsync(http, url, "new-pricing", """{"targetingKey": "bob"}""")));
        Assert.False(Value(await EvaluateAsync(http, url, "new-pricing", """{"targetingKey": "alice"}""")));
        Assert.Equal(HttpStatusCode.OK, (await http.PostAsync($"{url}/ofrep/v1/evaluate/flags", null)).StatusCode);
        Assert.Equal(0, (await harness.CliAsync("flags", "reset", "banner")).Code);
        Assert.Equal(0, (await harness.CliAsync("diff")).Code);
        Assert.Equal(pids, (await harness.JsonAsync("ps")).AsArray().Select(i => (int)i!["pid"]!).Order().ToList());
    }
}
