using System.Net;
using System.Net.Http.Json;
using System.Text;
using Flotilla.Api;
using Flotilla.Model;

namespace Flotilla.Tests.Api;

/// <summary>
/// Malformed and random specs and bodies thrown at POST /v1/apply: the server never answers 5xx,
/// never dies, and a refused apply leaves the revision and desired state exactly as they were.
/// </summary>
public sealed class ApplyFuzzTests(ApiFixture api) : IClassFixture<ApiFixture>
{
    // Keys that would build or copy files (build, files) are left out: a random valid path would start real work.
    private static readonly string[] Keys = [.. SpecKeys.Root, .. SpecKeys.Service.Except(["build", "files"]), .. SpecKeys.Http, .. SpecKeys.Timeouts,
        .. SpecKeys.Restart, .. SpecKeys.Resources, "web", "worker", "prod", "a", "zz", "", "-", "<<"];
    private static readonly string[] Scalars = ["0", "-1", "1", "1001", "99999999999999999999", "1.5", "true", "null", "~", "''", "\"\"", "web", "[]", "{}",
        "1s", "-5s", "10Gi", "0.5", "abc", "[definitely-not-a-program]", "[a, b]", "{ port: 70000 }", "&anchor x", "*alias", "!!binary AAAA", "'\u0000'", "ünïcødé"];

    [Fact]
    public async Task RandomAndMalformedApplies_NeverGet5xx_AndRefusalsChangeNothing()
    {
        // FLOTILLA_FUZZ_SEED replays a failing run.
        var seed = int.TryParse(Environment.GetEnvironmentVariable("FLOTILLA_FUZZ_SEED"), out var given) ? given : Environment.TickCount;
        var random = new Random(seed);
        var refused = 0;
        var accepted = 0;
        for (var i = 0; i < 400; i++)
        {
            var before = (api.Plane.Store.LatestRevisionNumber, api.Plane.State.ToJson());
            var (kind, input) = (i % 4) switch
            {
                0 => ("mutated spec", Mutate(ApiFixture.Spec(), random)),
                1 => ("random YAML", RandomYaml(random, 0)),
                _ => ("random body", RandomJson(random)),
            };
            var response = (i % 4) switch
            {
                0 or 1 => await api.ApplyAsync(api.Admin, input),
                2 => await api.Admin.PostAsync("v1/apply", new StringContent(input, Encoding.UTF8, "application/json")),
                _ => await api.Admin.PostAsync($"v1/services/{Pick(random, ["web", "worker", "nope", "%2e%2e"])}/scale", new StringContent(input, Encoding.UTF8, "application/json")),
            };
            var body = await response.Content.ReadAsStringAsync();
            Assert.True((int)response.StatusCode < 500, $"seed {seed}, case {i} ({kind}): {(int)response.StatusCode} {body}\ninput:\n{input}");
            if (response.IsSuccessStatusCode)
            {
                accepted++;
                continue;
            }
            refused++;
            Assert.Equal(before, (api.Plane.Store.LatestRevisionNumber, api.Plane.State.ToJson()));
        }
        Assert.True(refused > 300, $"seed {seed}: only {refused} refused; the fuzzer is too tame");
        // Still serving after all that.
        Assert.Equal(HttpStatusCode.OK, (await api.Reader.GetAsync("v1/status")).StatusCode);
        Assert.Equal(HttpStatusCode.Created, (await api.ApplyAsync(api.Admin, ApiFixture.Spec(extra: $"\n    env: {{ AFTER_FUZZ: '{accepted}' }}"))).StatusCode);
    }

    private static T Pick<T>(Random random, IReadOnlyList<T> items) => items[random.Next(items.Count)];

    private static string Mutate(string text, Random random)
    {
        var chars = new StringBuilder(text);
        for (var n = random.Next(1, 6); n > 0 && chars.Length > 0; n--)
        {
            var at = random.Next(chars.Length);
            switch (random.Next(4))
            {
                case 0:
                    chars.Remove(at, Math.Min(random.Next(1, 12), chars.Length - at));
                    break;
                case 1:
                    chars.Insert(at, Pick(random, [":", "-", " ", "\n", "\t", "[", "{", "}", "]", "'", "\"", "#", "&", "*", "!", "|", ">", "%", "\0", "0"]));
                    break;
                case 2:
                    chars[at] = (char)random.Next(1, 0x2FF);
                    break;
                default:
                    chars.Length = at;
                    break;
            }
        }
        return chars.ToString();
    }

    private static string RandomYaml(Random random, int depth)
    {
        var lines = new StringBuilder();
        var indent = new string(' ', depth * 2);
        for (var n = random.Next(1, 5); n > 0; n--)
        {
            var key = Pick(random, Keys);
            if (depth < 3 && random.Next(3) == 0)
            {
                lines.Append(indent).Append(key).Append(":\n").Append(RandomYaml(random, depth + 1));
            }
            else if (random.Next(5) == 0)
            {
                lines.Append(indent).Append("- ").Append(Pick(random, Scalars)).Append('\n');
            }
            else
            {
                lines.Append(indent).Append(key).Append(": ").Append(Pick(random, Scalars)).Append('\n');
            }
        }
        return lines.ToString();
    }

    private static string RandomJson(Random random) => random.Next(8) switch
    {
        0 => "{\"spec\": 42, \"file\": []}",
        1 => "{\"spec\": \"name: x\", \"file\": \"/nonexistent/flotilla.yaml\", \"basedOn\": \"yesterday\"}",
        2 => "{\"instances\": " + Pick(random, ["-1", "1e9", "null", "\"3\"", "2", "0", "1001", "[1]"]) + "}",
        3 => "{\"spec\": \"" + RandomYaml(random, 0).Replace("\\", "\\\\", StringComparison.Ordinal).Replace("\"", "\\\"", StringComparison.Ordinal).Replace("\n", "\\n", StringComparison.Ordinal) + "\", \"file\": \"/tmp/f.yaml\"}",
        4 => new string('{', random.Next(1, 2000)),
        5 => "{\"spec\": \"name: x\\nservices: {}\", \"file\": \"/tmp/x.yaml\", \"environment\": \"" + Pick(random, ["prod", "", "../../etc"]) + "\"}",
        6 => Convert.ToBase64String(Enumerable.Range(0, random.Next(1, 200)).Select(_ => (byte)random.Next(256)).ToArray()),
        _ => "{\"spec\": null, \"file\": null, \"extra\": {\"deep\": [1, 2, {\"x\": true}]}}",
    };
}
