using System.Collections.Concurrent;
using Flotilla.Hosting;

namespace Flotilla.Federation;

/// <summary>
/// The federated environments one server runs, each a <see cref="Federation"/> keyed by tenant and
/// environment: the default tenant's in <c>--data/federations/ENV/</c> (<c>_base</c>: applied without
/// --env), another tenant's in <c>--data/tenants/T/federations/ENV/</c>; all started again with the server.
/// Beside <see cref="ControlPlanes"/>, which runs the environments that have no clusters. A tenant sees
/// only its own: another tenant's federated environment is not looked at, so it answers as none.
/// </summary>
public sealed class Federations : IAsyncDisposable
{
    public const string ClusterHeader = "X-Flotilla-Cluster";
    private const string Base = "_base";
    private readonly ControlPlaneOptions _template;
    private readonly FederationOptions _options;
    private readonly ControlPlanes? _planes;

    /// <summary>By "TENANT/ENVIRONMENT" (<c>_base</c> for one applied without --env).</summary>
    private readonly ConcurrentDictionary<string, Federation> _running = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _creating = new(1, 1);

    private Federations(ControlPlaneOptions template, FederationOptions options, ControlPlanes? planes)
    {
        _template = template;
        _options = options;
        _planes = planes;
    }

    /// <summary>Where a tenant's federations live: the default tenant's where they always were (existing data is not moved).</summary>
    private string DirectoryOf(string tenant) => tenant == Tenancy.TenantRoles.DefaultTenant
        ? Path.Combine(_template.DataDirectory, "federations")
        : Path.Combine(_template.DataDirectory, "tenants", tenant, "federations");

    private static string Key(string tenant, string? environment) => $"{tenant}/{environment ?? Base}";

    /// <param name="planes">The server's environments: their tenants' quotas (<see cref="ControlPlanes.AdmissionOf"/>) admit federated changes
    /// and count federated clusters; null (tests of federation alone): no quota is checked.</param>
    public static async Task<Federations> StartAsync(ControlPlaneOptions template, FederationOptions? options = null, CancellationToken cancellationToken = default, ControlPlanes? planes = null)
    {
        var federations = new Federations(template, options ?? new FederationOptions(), planes);
        try
        {
            var tenants = System.IO.Directory.Exists(Path.Combine(template.DataDirectory, "tenants"))
                ? System.IO.Directory.GetDirectories(Path.Combine(template.DataDirectory, "tenants")).Select(Path.GetFileName).OfType<string>().Order(StringComparer.Ordinal).ToList()
                : [];
            foreach (var tenant in tenants.Prepend(Tenancy.TenantRoles.DefaultTenant))
            {
                var directory = federations.DirectoryOf(tenant);
                foreach (var existing in System.IO.Directory.Exists(directory) ? System.IO.Directory.GetDirectories(directory).Order(StringComparer.Ordinal).ToArray() : [])
                {
                    federations._running[$"{tenant}/{Path.GetFileName(existing)}"] = await Federation.StartAsync(existing, template, federations._options, cancellationToken, planes?.AdmissionOf(tenant));
                }
            }
            if (planes is not null)
            {
                planes.ClustersOf = federations.QuotaUsesOf;
            }
            return federations;
        }
        catch
        {
            await federations.DisposeAsync();
            throw;
        }
    }

    /// <summary>Every federated environment, by name (null: the one applied without --env).</summary>
    public IReadOnlyList<Federation> All => [.. _running.OrderBy(r => r.Key, StringComparer.Ordinal).Select(r => r.Value)];

    /// <summary>The federation running <paramref name="environment"/> of the default tenant, or null when that environment is not federated.</summary>
    public Federation? Find(string? environment) => Find(Tenancy.TenantRoles.DefaultTenant, environment);

    /// <summary>The federation running <paramref name="environment"/> of <paramref name="tenant"/>, or null (also when only another tenant's is).</summary>
    public Federation? Find(string tenant, string? environment) => _running.GetValueOrDefault(Key(tenant, environment)) is { Desired: not null } federation ? federation : null;

    /// <summary>Every cluster of a tenant's federations with what its federation promised it (the tenant's quota counts them).</summary>
    private IReadOnlyList<ClusterQuotaUse> QuotaUsesOf(string tenant) =>
        [.. _running.Where(r => r.Key.StartsWith(tenant + "/", StringComparison.Ordinal)).SelectMany(r => r.Value.QuotaUses())];

    /// <summary>The federation of <paramref name="environment"/> of the default tenant, started by its first apply.</summary>
    public Task<Federation> ForApplyAsync(string? environment, CancellationToken cancellationToken) =>
        ForApplyAsync(Tenancy.TenantRoles.DefaultTenant, environment, cancellationToken);

    /// <summary>The federation of <paramref name="environment"/> of <paramref name="tenant"/>, started by its first apply (in the tenant's own directory).</summary>
    public async Task<Federation> ForApplyAsync(string tenant, string? environment, CancellationToken cancellationToken)
    {
        if (_running.TryGetValue(Key(tenant, environment), out var running))
        {
            return running;
        }
        if (environment is not null && !Model.Names.IsServiceName(environment))
        {
            throw new ControlPlaneException($"'{environment}' is not a valid environment name: {Model.Names.ServiceNameHelp}", ControlPlaneError.Invalid);
        }
        await _creating.WaitAsync(cancellationToken);
        try
        {
            var key = Key(tenant, environment);
            if (_running.TryGetValue(key, out running))
            {
                return running;
            }
            var federation = await Federation.StartAsync(Path.Combine(DirectoryOf(tenant), environment ?? Base), _template, _options, cancellationToken, _planes?.AdmissionOf(tenant));
            _running[key] = federation;
            return federation;
        }
        finally
        {
            _creating.Release();
        }
    }

    /// <summary>Whether a spec text declares clusters (it is parsed again by whoever applies it).</summary>
    public static bool Declares(string yaml, string file, string? environment) => Model.SpecLoader.Parse(yaml, file, environment).Clusters.Count > 0;

    public async Task StopDataPlanesAsync()
    {
        foreach (var federation in _running.Values)
        {
            await federation.StopDataPlanesAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var federation in _running.Values)
        {
            await federation.DisposeAsync();
        }
        _running.Clear();
        _creating.Dispose();
    }
}
