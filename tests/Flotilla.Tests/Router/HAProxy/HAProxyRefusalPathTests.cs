using System.Net;
using System.Net.Http.Headers;
using System.Text.Json;
using Flotilla.Api;
using Flotilla.Hosting;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Router.HAProxy;

/// <summary>
/// The HAProxy engine's refusals on the paths other than apply that make a stored revision run:
/// undo and re-apply through the API (refused with nothing changed), and a start on a state whose
/// latest revision the engine cannot serve (refused before haproxy starts). The revisions are
/// recorded under the embedded router, which does everything.
/// </summary>
public sealed class HAProxyRefusalPathTests : IDisposable
{
    private readonly TempDirectory _dir = new("flotilla-hx-refuse");

    private string Data => Path.Combine(_dir.Path, "data");

    private string Spec(string version, string rollout) => $$"""
        name: hx-refuse
        services:
          web:
            command: [definitely-not-a-program, "{{version}}", "${PORT}"]
            instances: 0
            http: { ready: /ready }{{rollout}}
        """;

    private const string Latency = """

            rollout:
              strategy: canary
              steps:
                - weight: 10
                - analysis: { interval: 5s, p99: "< 300ms" }
        """;

    private async Task ApplyAsync(ControlPlane plane, string yaml) =>
        await plane.ApplyAsync(new ApplyRequest(yaml, Path.Combine(_dir.Path, "flotilla.yaml"), null, null, "test"));

    private static async Task StopAsync(ControlPlane plane)
    {
        await plane.StopDataPlaneAsync();
        await plane.DisposeAsync();
    }

    public void Dispose() => _dir.Dispose();

    [Fact]
    public async Task UndoAndReapply_ToARevisionTheEngineCannotServe_AreRefusedThroughTheApi_WithNothingChanged()
    {
        var yarp = await ControlPlane.StartAsync(new ControlPlaneOptions(Data) { InstanceUsers = false });
        await ApplyAsync(yarp, Spec("v1", Latency));
        await ApplyAsync(yarp, Spec("v2", ""));
        await StopAsync(yarp);

        var plane = await ControlPlane.StartAsync(new ControlPlaneOptions(Data) { RouterEngine = "haproxy", InstanceUsers = false });
        try
        {
            await using var server = await ApiServer.StartAsync(plane, new IPEndPoint(IPAddress.Loopback, 0));
            using var http = new HttpClient { BaseAddress = new Uri(server.Url + "/"), Timeout = TimeSpan.FromSeconds(30) };
            http.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", plane.Store.CreateToken("admin", Flotilla.Tenancy.TenantRoles.Operator, "test", DateTimeOffset.UtcNow));
            var before = plane.Store.LatestRevisionNumber;
            var revision = plane.State.Find("web")!.Revision;

            foreach (var (path, doing) in new[] { ("v1/services/web/rollout/undo", "undo web"), ("v1/revisions/1/apply", "revision 1 cannot be re-applied") })
            {
                using var answer = await http.PostAsync(path, null);
                // The error's fields as text (JSON escapes the quotes around names).
                var fields = JsonSerializer.Deserialize<Dictionary<string, JsonElement>>(await answer.Content.ReadAsStringAsync())!;
                var body = string.Join(" ", fields.Values.Select(v => v.ValueKind == JsonValueKind.String ? v.GetString() : v.ToString()));
                Assert.True(answer.StatusCode == HttpStatusCode.BadRequest, $"{path}: {(int)answer.StatusCode} {body}");
                Assert.Contains(doing, body);
                Assert.Contains("service 'web'", body);
                Assert.Contains("latency", body);
                Assert.Contains("--router-engine yarp", body);
                Assert.Equal(before, plane.Store.LatestRevisionNumber);
                Assert.Equal(revision, plane.State.Find("web")!.Revision);
            }
        }
        finally
        {
            await StopAsync(plane);
        }
    }

    [Fact]
    public async Task AStartWithHAProxy_OnALatestRevisionItCannotServe_FailsNamingTheFeatureAndTheFix_AndStartsNothing()
    {
        var yarp = await ControlPlane.StartAsync(new ControlPlaneOptions(Data) { InstanceUsers = false });
        await ApplyAsync(yarp, Spec("v1", Latency));
        await StopAsync(yarp);

        var refused = await Assert.ThrowsAsync<ControlPlaneException>(() => ControlPlane.StartAsync(new ControlPlaneOptions(Data) { RouterEngine = "haproxy", InstanceUsers = false }));

        Assert.Contains($"revision (1, in {Data})", refused.Message);
        Assert.Contains("service 'web'", refused.Message);
        Assert.Contains("latency", refused.Message);
        Assert.Contains("--router-engine yarp", refused.Message);
        Assert.False(File.Exists(Path.Combine(Data, "haproxy", "haproxy.pid")), "haproxy was started for a state it cannot serve");
        // Nothing held: the data directory's lock was let go, and the embedded router still starts on it.
        await StopAsync(await ControlPlane.StartAsync(new ControlPlaneOptions(Data) { InstanceUsers = false }));
    }
}
