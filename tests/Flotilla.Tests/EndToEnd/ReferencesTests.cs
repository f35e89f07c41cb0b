using System.Text.Json.Nodes;
using Flotilla.Hosting;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.EndToEnd;

/// <summary>
/// Endpoint variables go only to the services that name each other (dependsOn, references), so a
/// system grows without restarting what already runs.
/// </summary>
[Collection(ProcessHeavy.Name)]
public sealed class ReferencesTests : IAsyncLifetime
{
    private static readonly TimeSpan Wait = TimeSpan.FromSeconds(60);
    private static readonly string Reviews = Path.Combine(Repository.Root, "examples", "shop", "services", "Reviews");

    /// <summary>Answers every GET with what web's endpoint answers, found through the variable its reference injects.</summary>
    private const string Caller = """
        import os, sys, urllib.request
        from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self):
                with urllib.request.urlopen(os.environ["WEB_URL"] + "/", timeout=10) as answer:
                    body = answer.read()
                self.send_response(200)
                self.send_header("Content-Length", str(len(body)))
                self.end_headers()
                self.wfile.write(body)

            def log_message(self, *args):
                pass

        ThreadingHTTPServer(("127.0.0.1", int(sys.argv[1])), Handler).serve_forever()
        """;

    private readonly TempDirectory _dir = new("flotilla-refs");
    private ControlPlane _plane = null!;

    public async Task InitializeAsync() => _plane = await ControlPlane.StartAsync(new ControlPlaneOptions(Path.Combine(_dir.Path, "data")));

    public async Task DisposeAsync()
    {
        await _plane.StopDataPlaneAsync();
        await _plane.DisposeAsync();
        Assert.Empty(ProcessScan.Mentioning(_dir.Path));
        _dir.Dispose();
    }

    private Task<ApplyResult> ApplyAsync(string services)
    {
        var yaml = $$"""
            name: refs-test
            services:
              web:
                command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
                files: {{Reviews}}
                instances: 2
                http: { health: /healthz, ready: /ready }
            {{services}}
            """;
        var file = Path.Combine(_dir.Path, "flotilla.yaml");
        File.WriteAllText(file, yaml);
        return _plane.ApplyAsync(new ApplyRequest(yaml, file, null, null, "test"));
    }

    private static string? InstanceEnv(int pid, string name) =>
        File.ReadAllText($"/proc/{pid}/environ").Split('\0').SingleOrDefault(v => v.StartsWith(name + "=", StringComparison.Ordinal))?[(name.Length + 1)..];

    private List<(string Id, int Pid, string Revision)> Instances(string service) =>
        _plane.Status().Services.Single(s => s.Name == service).Instances.Select(i => (i.Id, i.Pid, i.Revision)).Order().ToList();

    [Fact]
    public async Task AddingACaller_ReplacesNoInstanceOfWeb_AndTheCallerReachesWebThroughItsReference()
    {
        await ApplyAsync("");
        await _plane.WaitUntilConvergedAsync(Wait);
        var webRevision = _plane.State.Find("web")!.Revision;
        var webInstances = Instances("web");

        var callerFiles = Path.Combine(_dir.Path, "caller");
        Directory.CreateDirectory(callerFiles);
        File.WriteAllText(Path.Combine(callerFiles, "app.py"), Caller);
        var grown = await ApplyAsync($$"""
              caller:
                command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
                files: {{callerFiles}}
                references: [web]
            """);
        Assert.Equal("+caller (1)", grown.Revision.Summary);
        await _plane.WaitUntilConvergedAsync(Wait);
        // Converged could be a moment before a replacement begins: let the controller look twice more.
        var passes = _plane.ReconcilePasses;
        await Eventually.Until(() => _plane.ReconcilePasses >= passes + 2, Wait, "two more reconcile passes");

        Assert.Equal(webRevision, _plane.State.Find("web")!.Revision);
        Assert.Equal(webInstances, Instances("web"));
        Assert.All(webInstances, i => Assert.Null(InstanceEnv(i.Pid, "CALLER_URL")));

        var status = _plane.Status().Services.ToDictionary(s => s.Name);
        var caller = status["caller"].Instances.Single();
        Assert.Equal(status["web"].Endpoint, InstanceEnv(caller.Pid, "WEB_URL"));
        Assert.Equal(status["web"].Endpoint, InstanceEnv(caller.Pid, "services__web__http__0"));
        Assert.Equal(ServiceEnvironment.ContractVersion, InstanceEnv(caller.Pid, "FLOTILLA_CONTRACT"));
        using var http = new HttpClient { Timeout = TimeSpan.FromSeconds(30) };
        var answer = JsonNode.Parse(await http.GetStringAsync(status["caller"].Endpoint + "/"))!;
        Assert.Equal("reviews", (string?)answer["service"]);
        Assert.Contains((string?)answer["instance"], webInstances.Select(i => i.Id));
    }
}
