using System.Collections.Concurrent;
using Flotilla.Model;

namespace Flotilla.Hosting;

/// <summary>
/// The environments one server runs side by side, fully separated like namespaces: each has its
/// own control plane with its own store, router process, instances, endpoints, flags, secrets
/// and GitOps source, in its own data directory; they share the build cache, whose artifacts are
/// immutable and addressed by content digest. The root data directory holds the first
/// environment applied (or none: the base spec); every other one is under environments/NAME/,
/// created by its first apply and restarted with the server.
/// </summary>
public sealed class ControlPlanes : IAsyncDisposable
{
    public const string EnvironmentHeader = "X-Flotilla-Environment";
    private readonly ControlPlaneOptions _options;
    private readonly ConcurrentDictionary<string, ControlPlane> _others = new(StringComparer.Ordinal);

    /// <summary>The environments of tenants other than the default one, by "TENANT/ENVIRONMENT" ("TENANT/" for one applied without --env).</summary>
    private readonly ConcurrentDictionary<string, ControlPlane> _tenantPlanes = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _creating = new(1, 1);
    private readonly bool _createsEnvironments;
    private readonly ConcurrentDictionary<string, TenantAdmission> _admissions = new(StringComparer.Ordinal);

    private ControlPlanes(ControlPlaneOptions options, ControlPlane root, bool createsEnvironments = true)
    {
        _options = options;
        Root = root;
        _createsEnvironments = createsEnvironments;
    }

    /// <summary>The control plane of the root data directory (also tokens and the server's own audit live in its store).</summary>
    public ControlPlane Root { get; }

    public static async Task<ControlPlanes> StartAsync(ControlPlaneOptions options, CancellationToken cancellationToken = default)
    {
        var root = await ControlPlane.StartAsync(options, cancellationToken);
        var planes = new ControlPlanes(options, root);
        root.Admission = planes.AdmissionOf(Tenancy.TenantRoles.DefaultTenant);
        try
        {
            var directory = Path.Combine(options.DataDirectory, "environments");
            foreach (var existing in Directory.Exists(directory) ? Directory.GetDirectories(directory).Order(StringComparer.Ordinal).ToArray() : [])
            {
                var name = Path.GetFileName(existing);
                planes._others[name] = await ControlPlane.StartAsync(planes.OptionsFor(name), cancellationToken);
                planes._others[name].Admission = root.Admission;
            }
            foreach (var tenant in root.Store.Tenants().Where(t => t.Name != Tenancy.TenantRoles.DefaultTenant))
            {
                var home = TenantDirectory(options, tenant.Name);
                if (Directory.Exists(Path.Combine(home, "base")))
                {
                    planes._tenantPlanes[tenant.Name + "/"] = await ControlPlane.StartAsync(planes.OptionsFor(tenant.Name, null), cancellationToken);
                    planes._tenantPlanes[tenant.Name + "/"].Admission = planes.AdmissionOf(tenant.Name);
                }
                var environments = Path.Combine(home, "environments");
                foreach (var existing in Directory.Exists(environments) ? Directory.GetDirectories(environments).Order(StringComparer.Ordinal).ToArray() : [])
                {
                    var name = Path.GetFileName(existing);
                    planes._tenantPlanes[$"{tenant.Name}/{name}"] = await ControlPlane.StartAsync(planes.OptionsFor(tenant.Name, name), cancellationToken);
                    planes._tenantPlanes[$"{tenant.Name}/{name}"].Admission = planes.AdmissionOf(tenant.Name);
                }
            }
            return planes;
        }
        catch
        {
            await planes.DisposeAsync();
            throw;
        }
    }

    /// <summary>Only the one control plane (tests that host one themselves): another environment cannot be created.</summary>
    public static ControlPlanes Of(ControlPlane root) => new(new ControlPlaneOptions(root.DataDirectory), root, createsEnvironments: false);

    /// <summary>Every environment this server runs, of every tenant, the root one first.</summary>
    public IReadOnlyList<ControlPlane> All => [.. Of(Tenancy.TenantRoles.DefaultTenant), .. _tenantPlanes.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => o.Value)];

    /// <summary>The environments of one tenant, the first one first (the default tenant's: the root one first).</summary>
    public IReadOnlyList<ControlPlane> Of(string tenant) => tenant == Tenancy.TenantRoles.DefaultTenant
        ? [Root, .. _others.OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => o.Value)]
        : [.. _tenantPlanes.Where(o => o.Key.StartsWith(tenant + "/", StringComparison.Ordinal)).OrderBy(o => o.Key, StringComparer.Ordinal).Select(o => o.Value)];

    /// <summary>The one admission of a tenant, shared by all its environments: its quota checks are serialised with each other.</summary>
    public TenantAdmission AdmissionOf(string tenant) => _admissions.GetOrAdd(tenant, t => new TenantAdmission(this, t));

    /// <summary>
    /// The clusters of a tenant's federated environments (set by whoever runs them: <c>Federation/Federations</c>), counted by its
    /// quota beside the environments run here; null: none.
    /// </summary>
    public Func<string, IReadOnlyList<ClusterQuotaUse>>? ClustersOf { get; set; }

    /// <summary>The tenant an environment belongs to.</summary>
    public string TenantOf(ControlPlane plane) =>
        _tenantPlanes.FirstOrDefault(o => ReferenceEquals(o.Value, plane)).Key is { } key ? key[..key.IndexOf('/', StringComparison.Ordinal)] : Tenancy.TenantRoles.DefaultTenant;

    /// <summary>
    /// The control plane that runs <paramref name="environment"/> of <paramref name="tenant"/>
    /// (null: the tenant's first). Another tenant's environments are not looked at: one of the
    /// same name elsewhere answers exactly as one that does not exist.
    /// </summary>
    public async Task<ControlPlane> ForAsync(string tenant, string? environment, bool create, CancellationToken cancellationToken = default)
    {
        if (tenant == Tenancy.TenantRoles.DefaultTenant)
        {
            return await ForAsync(environment, create, cancellationToken);
        }
        var key = $"{tenant}/{environment}";
        if (environment is null && Of(tenant) is [var first, ..])
        {
            return first;
        }
        if (_tenantPlanes.TryGetValue(key, out var plane))
        {
            return plane;
        }
        if (!create)
        {
            throw environment is null
                ? new ControlPlaneException($"tenant '{tenant}' runs no environment yet: apply a spec to start one", ControlPlaneError.NotFound)
                : new ControlPlaneException($"environment '{environment}' does not run on this server; it runs {Names(tenant)}: apply a spec with --env {environment} to start it", ControlPlaneError.NotFound);
        }
        if (environment is not null && !Model.Names.IsServiceName(environment))
        {
            throw new ControlPlaneException($"'{environment}' is not a valid environment name: {Model.Names.ServiceNameHelp}", ControlPlaneError.Invalid);
        }
        await _creating.WaitAsync(cancellationToken);
        try
        {
            if (_tenantPlanes.TryGetValue(key, out plane))
            {
                return plane;
            }
            if (!_createsEnvironments)
            {
                throw new ControlPlaneException($"this control plane runs environment '{Root.State.Environment ?? "(base)"}' only", ControlPlaneError.Conflict);
            }
            plane = await ControlPlane.StartAsync(OptionsFor(tenant, environment), cancellationToken);
            plane.Admission = AdmissionOf(tenant);
            _tenantPlanes[key] = plane;
            // In the tenant's own events: the root environment's events are the default tenant's to read.
            plane.Events.Record("control-plane", $"environment {environment ?? "(base)"} of tenant {tenant} started in {plane.DataDirectory}");
            return plane;
        }
        finally
        {
            _creating.Release();
        }
    }

    /// <summary>
    /// The control plane that runs <paramref name="environment"/> (null: the root one). With
    /// <paramref name="create"/> (an apply) an environment not run yet gets its own; the first
    /// apply of a new server claims the root. Throws <see cref="ControlPlaneException"/>.
    /// </summary>
    public async Task<ControlPlane> ForAsync(string? environment, bool create, CancellationToken cancellationToken = default)
    {
        // An empty root answers for any environment: the first apply claims it.
        if (environment is null || Root.State.Environment == environment || (Root.Store.LatestRevisionNumber == 0 && _others.IsEmpty))
        {
            return Root;
        }
        if (_others.TryGetValue(environment, out var plane))
        {
            return plane;
        }
        if (!create)
        {
            throw new ControlPlaneException($"environment '{environment}' does not run on this server; it runs {Names()}: apply a spec with --env {environment} to start it", ControlPlaneError.NotFound);
        }
        if (!Model.Names.IsServiceName(environment))
        {
            throw new ControlPlaneException($"'{environment}' is not a valid environment name: {Model.Names.ServiceNameHelp}", ControlPlaneError.Invalid);
        }
        await _creating.WaitAsync(cancellationToken);
        try
        {
            if (_others.TryGetValue(environment, out plane))
            {
                return plane;
            }
            if (!_createsEnvironments)
            {
                throw new ControlPlaneException($"this control plane runs environment '{Root.State.Environment ?? "(base)"}' only", ControlPlaneError.Conflict);
            }
            plane = await ControlPlane.StartAsync(OptionsFor(environment), cancellationToken);
            plane.Admission = Root.Admission;
            _others[environment] = plane;
            Root.Events.Record("control-plane", $"environment {environment} started in {plane.DataDirectory}");
            return plane;
        }
        finally
        {
            _creating.Release();
        }
    }

    private string Names(string tenant = Tenancy.TenantRoles.DefaultTenant) =>
        Of(tenant) is { Count: > 0 } planes ? string.Join(", ", planes.Select(p => p.State.Environment ?? "(base)")) : "none";

    /// <summary>Where a tenant other than the default one keeps its environments.</summary>
    private static string TenantDirectory(ControlPlaneOptions options, string tenant) => Path.Combine(options.DataDirectory, "tenants", tenant);

    private ControlPlaneOptions OptionsFor(string tenant, string? environment) =>
        OptionsFor(environment ?? "") with { DataDirectory = environment is null ? Path.Combine(TenantDirectory(_options, tenant), "base") : Path.Combine(TenantDirectory(_options, tenant), "environments", environment) };

    /// <summary>An environment's own data directory; the build cache is the server's (content-addressed, so a build serves every environment: built once).</summary>
    private ControlPlaneOptions OptionsFor(string environment) =>
        new(Path.Combine(_options.DataDirectory, "environments", environment), _options.RouterCommand, _options.Time) { ArtifactsDirectory = _options.ArtifactsDirectory, DockerEndpoint = _options.DockerEndpoint, SwarmEndpoint = _options.SwarmEndpoint, Kubernetes = _options.Kubernetes, RouterReplicas = null, InstanceUsers = _options.InstanceUsers, RouterEngine = _options.RouterEngine };

    public async Task StopDataPlanesAsync()
    {
        foreach (var plane in All)
        {
            await plane.StopDataPlaneAsync();
        }
    }

    public async ValueTask DisposeAsync()
    {
        foreach (var plane in _others.Values.Concat(_tenantPlanes.Values))
        {
            await plane.DisposeAsync();
        }
        await Root.DisposeAsync();
        _creating.Dispose();
    }
}
