using System.Collections.Concurrent;
using Flotilla.Hosting;

namespace Flotilla.Federation;

/// <summary>
/// The federated environments one server runs (of the default tenant), each a <see cref="Federation"/>
/// in <c>--data/federations/ENV/</c> (<c>_base</c>: applied without --env), started again with the server.
/// Beside <see cref="ControlPlanes"/>, which runs the environments that have no clusters.
/// </summary>
public sealed class Federations : IAsyncDisposable
{
    public const string ClusterHeader = "X-Flotilla-Cluster";
    private const string Base = "_base";
    private readonly ControlPlaneOptions _template;
    private readonly FederationOptions _options;
    private readonly ConcurrentDictionary<string, Federation> _running = new(StringComparer.Ordinal);
    private readonly SemaphoreSlim _creating = new(1, 1);

    private Federations(ControlPlaneOptions template, FederationOptions options)
    {
        _template = template;
        _options = options;
    }

    private string Directory => Path.Combine(_template.DataDirectory, "federations");

    public static async Task<Federations> StartAsync(ControlPlaneOptions template, FederationOptions? options = null, CancellationToken cancellationToken = default)
    {
        var federations = new Federations(template, options ?? new FederationOptions());
        try
        {
            var directory = federations.Directory;
            foreach (var existing in System.IO.Directory.Exists(directory) ? System.IO.Directory.GetDirectories(directory).Order(StringComparer.Ordinal).ToArray() : [])
            {
                federations._running[Path.GetFileName(existing)] = await Federation.StartAsync(existing, template, federations._options, cancellationToken);
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

    /// <summary>The federation running <paramref name="environment"/>, or null when that environment is not federated.</summary>
    public Federation? Find(string? environment) => _running.GetValueOrDefault(environment ?? Base) is { Desired: not null } federation ? federation : null;

    /// <summary>The federation of <paramref name="environment"/>, started by its first apply.</summary>
    public async Task<Federation> ForApplyAsync(string? environment, CancellationToken cancellationToken)
    {
        if (_running.TryGetValue(environment ?? Base, out var running))
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
            var key = environment ?? Base;
            if (_running.TryGetValue(key, out running))
            {
                return running;
            }
            var federation = await Federation.StartAsync(Path.Combine(Directory, key), _template, _options, cancellationToken);
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
