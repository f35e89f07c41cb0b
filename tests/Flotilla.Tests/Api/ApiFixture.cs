using System.Net.Http.Headers;
using System.Net.Http.Json;
using Flotilla.Api;
using Flotilla.Hosting;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Api;

/// <summary>
/// A control plane with its API on a real loopback socket, an admin and a read-only token, and a
/// spec whose command does not exist (so applying it never starts a process).
/// </summary>
public sealed class ApiFixture : IAsyncLifetime
{
    private readonly TempDirectory _dir = new("flotilla-api");

    public ControlPlane Plane { get; private set; } = null!;
    public ApiServer Server { get; private set; } = null!;
    public string SpecFile => Path.Combine(_dir.Path, "flotilla.yaml");
    public HttpClient Anonymous { get; private set; } = null!;
    public HttpClient Admin { get; private set; } = null!;
    public HttpClient Reader { get; private set; } = null!;

    public static string Spec(int instances = 0, string extra = "") => $$"""
        name: api-test
        zones: [a, b]
        services:
          web:
            command: [definitely-not-a-program, "${PORT}"]
            instances: {{instances}}
            http: { ready: /ready }
          worker:
            command: [definitely-not-a-program]
            instances: 0
            dependsOn: [web]{{extra}}
        """;

    public async Task InitializeAsync()
    {
        File.WriteAllText(SpecFile, Spec());
        Plane = await ControlPlane.StartAsync(new ControlPlaneOptions(Path.Combine(_dir.Path, "data")));
        Server = await ApiServer.StartAsync(Plane, new System.Net.IPEndPoint(System.Net.IPAddress.Loopback, 0));
        Anonymous = Client(null);
        Admin = Client(Plane.Store.CreateToken("admin", Flotilla.Tenancy.TenantRoles.Operator, "test", DateTimeOffset.UtcNow));
        Reader = Client(Plane.Store.CreateToken("reader", Flotilla.Tenancy.TenantRoles.Viewer, "test", DateTimeOffset.UtcNow));
    }

    private HttpClient Client(string? token)
    {
        var client = new HttpClient { BaseAddress = new Uri(Server.Url + "/"), Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        return client;
    }

    public Task<HttpResponseMessage> ApplyAsync(HttpClient client, string yaml, long? basedOn = null, string? gitCommit = null) =>
        client.PostAsJsonAsync("v1/apply", new ApplyBody(yaml, SpecFile, null, basedOn, gitCommit), ApiJson.Options);

    public async Task DisposeAsync()
    {
        Anonymous.Dispose();
        Admin.Dispose();
        Reader.Dispose();
        await Server.DisposeAsync();
        await Plane.StopDataPlaneAsync();
        await Plane.DisposeAsync();
        _dir.Dispose();
    }
}
