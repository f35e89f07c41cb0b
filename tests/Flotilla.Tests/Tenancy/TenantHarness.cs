using System.Net;
using System.Net.Http.Headers;
using System.Net.Http.Json;
using System.Text;
using Flotilla.Api;
using Flotilla.Hosting;
using Flotilla.Store;
using Flotilla.Tenancy;
using Flotilla.Tests.Support;
using Microsoft.Data.Sqlite;

namespace Flotilla.Tests.Tenancy;

/// <summary>
/// A server (several environments, several tenants) with its API on a real loopback socket and a
/// server-wide operator token; specs whose command does not exist, so applying never starts a process.
/// </summary>
public sealed class TenantHarness : IAsyncDisposable
{
    private readonly TempDirectory _dir = new("flotilla-tenants");
    private readonly List<HttpClient> _clients = [];
    private string? _operatorToken;
    private string? _swarmEndpoint;

    private TenantHarness()
    {
    }

    public ControlPlanes Planes { get; private set; } = null!;
    public Flotilla.Federation.Federations Federations { get; private set; } = null!;
    public ApiServer Server { get; private set; } = null!;
    public HttpClient Operator { get; private set; } = null!;
    public string DataDirectory => Path.Combine(_dir.Path, "data");
    public string SpecFile => Path.Combine(_dir.Path, "flotilla.yaml");

    /// <param name="swarmEndpoint">The Swarm manager for environments with <c>runtime: swarm</c> (a lab's).</param>
    public static async Task<TenantHarness> StartAsync(string? swarmEndpoint = null)
    {
        var harness = new TenantHarness { _swarmEndpoint = swarmEndpoint };
        foreach (var prefix in new[] { "alpha", "omega", "bravo" })
        {
            harness._dir.Write($"{prefix}-flags.json", "{\"flags\": {\"" + prefix + "-flag\": {\"state\": \"ENABLED\", \"variants\": {\"on\": true, \"off\": false}, \"defaultVariant\": \"on\"}}}");
        }
        await harness.StartServerAsync();
        harness._operatorToken = harness.Planes.Root.Store.CreateToken("op", TenantRoles.Operator, "test", DateTimeOffset.UtcNow);
        harness.Operator = harness.Client(harness._operatorToken);
        return harness;
    }

    /// <summary>A spec whose every name starts with <paramref name="prefix"/>, with an environment <c>PREFIX-env-7</c>.</summary>
    public static string Spec(string prefix) => $$"""
        name: {{prefix}}-system
        zones: [{{prefix}}-za, {{prefix}}-zb]
        flags: {{prefix}}-flags.json
        services:
          {{prefix}}-web:
            command: [definitely-not-a-program, "${PORT}"]
            instances: 0
            http: { ready: /ready }
          {{prefix}}-worker:
            command: [definitely-not-a-program]
            instances: 0
        environments:
          {{prefix}}-env-7: { instances: 0 }
        """;

    /// <summary><see cref="Spec"/> over two local clusters (<c>PREFIX-c1</c>, <c>PREFIX-c2</c>), in environment <c>PREFIX-fed-7</c>.</summary>
    public static string FederatedSpec(string prefix) =>
        Spec(prefix).Replace($"  {prefix}-env-7: {{ instances: 0 }}", $"  {prefix}-env-7: {{ instances: 0 }}\n  {prefix}-fed-7: {{ instances: 0 }}", StringComparison.Ordinal)
        + $"\nclusters:\n  - {{ name: {prefix}-c1, kind: local }}\n  - {{ name: {prefix}-c2, kind: local }}\n";

    /// <summary>
    /// <see cref="Spec"/> with its web service running one real instance on <paramref name="runtime"/>
    /// (a static file server in Debian's python3, in the base image on Docker and Swarm), so its
    /// instances, logs and endpoint exist for another tenant to try to reach.
    /// </summary>
    public static string RunningSpec(string prefix, string runtime)
    {
        var bind = runtime == "swarm" ? "0.0.0.0" : "127.0.0.1";
        var image = runtime == "local" ? "" : $"\n    image: {Flotilla.Runtime.Docker.ContainerImages.BaseImage}";
        return Spec(prefix)
            .Replace("command: [definitely-not-a-program, \"${PORT}\"]\n    instances: 0", $"command: [python3, -m, http.server, \"${{PORT}}\", --bind, {bind}]\n    instances: 1{image}", StringComparison.Ordinal)
            .Replace("http: { ready: /ready }", "http: { ready: / }", StringComparison.Ordinal)
            .Replace($"{prefix}-env-7: {{ instances: 0 }}", $"{prefix}-env-7: {{ runtime: {runtime} }}", StringComparison.Ordinal);
    }

    public HttpClient Client(string? token, string? environment = null, string? tenant = null)
    {
        var client = new HttpClient { BaseAddress = new Uri(Server.Url + "/"), Timeout = TimeSpan.FromSeconds(30) };
        if (token is not null)
        {
            client.DefaultRequestHeaders.Authorization = new AuthenticationHeaderValue("Bearer", token);
        }
        if (environment is not null)
        {
            client.DefaultRequestHeaders.Add(ControlPlanes.EnvironmentHeader, environment);
        }
        if (tenant is not null)
        {
            client.DefaultRequestHeaders.Add(ApiAuth.TenantHeader, tenant);
        }
        _clients.Add(client);
        return client;
    }

    /// <summary>Creates a tenant's token through the API as the operator; returns its secret.</summary>
    public async Task<string> TokenAsync(string tenant, string name, string role)
    {
        var created = await Operator.PostAsJsonAsync("v1/tokens", new TokenBody(name, role, tenant), ApiJson.Options);
        Assert.Equal(HttpStatusCode.Created, created.StatusCode);
        return (await created.Content.ReadFromJsonAsync<TokenResponse>(ApiJson.Options))!.Token;
    }

    public async Task CreateTenantAsync(string name) =>
        Assert.Equal(HttpStatusCode.Created, (await Operator.PostAsJsonAsync("v1/tenants", new TenantBody(name), ApiJson.Options)).StatusCode);

    public async Task<HttpResponseMessage> ApplyAsync(HttpClient client, string prefix, string environment, string? spec = null) =>
        await client.PostAsJsonAsync("v1/apply", new ApplyBody(spec ?? Spec(prefix), SpecFile, environment, null, null), ApiJson.Options);

    /// <summary>Every row of every table of a store but its events (written by controllers on their own), as text: equal means nothing changed.</summary>
    public static string Dump(string dataDirectory)
    {
        using var connection = new SqliteConnection($"Data Source={Path.Combine(dataDirectory, StateStore.FileName)};Mode=ReadOnly;Pooling=false");
        connection.Open();
        var text = new StringBuilder();
        var tables = new List<string>();
        using (var list = connection.CreateCommand())
        {
            list.CommandText = "SELECT name FROM sqlite_master WHERE type = 'table' AND name <> 'events' ORDER BY name";
            using var reader = list.ExecuteReader();
            while (reader.Read())
            {
                tables.Add(reader.GetString(0));
            }
        }
        foreach (var table in tables)
        {
            using var rows = connection.CreateCommand();
            rows.CommandText = $"SELECT * FROM \"{table}\" ORDER BY rowid";
            using var reader = rows.ExecuteReader();
            text.Append("# ").AppendLine(table);
            while (reader.Read())
            {
                for (var i = 0; i < reader.FieldCount; i++)
                {
                    text.Append(reader.IsDBNull(i) ? "null" : Convert.ToString(reader.GetValue(i) is byte[] b ? Convert.ToHexString(b) : reader.GetValue(i), System.Globalization.CultureInfo.InvariantCulture)).Append('|');
                }
                text.AppendLine();
            }
        }
        return text.ToString();
    }

    /// <summary>Stops the server (control planes and API; nothing runs) and starts it again on the same data directory.</summary>
    public async Task RestartAsync()
    {
        await StopServerAsync();
        await StartServerAsync();
    }

    private async Task StartServerAsync()
    {
        Planes = await ControlPlanes.StartAsync(new ControlPlaneOptions(DataDirectory) { SwarmEndpoint = _swarmEndpoint });
        Federations = await Flotilla.Federation.Federations.StartAsync(new ControlPlaneOptions(DataDirectory) { SwarmEndpoint = _swarmEndpoint },
            new Flotilla.Federation.FederationOptions { Tick = TimeSpan.FromMilliseconds(100), ProbeInterval = TimeSpan.FromMilliseconds(300) }, planes: Planes);
        Server = await ApiServer.StartAsync(Planes, new IPEndPoint(IPAddress.Loopback, 0), default, Federations);
        if (_operatorToken is not null)
        {
            Operator = Client(_operatorToken);
        }
    }

    private async Task StopServerAsync()
    {
        foreach (var client in _clients)
        {
            client.Dispose();
        }
        _clients.Clear();
        await Server.DisposeAsync();
        await Federations.StopDataPlanesAsync();
        await Federations.DisposeAsync();
        await Planes.StopDataPlanesAsync();
        await Planes.DisposeAsync();
    }

    public async ValueTask DisposeAsync()
    {
        await StopServerAsync();
        _dir.Dispose();
    }
}
