using Flotilla.Databases;
using Flotilla.Model;

namespace Flotilla.Hosting;

/// <summary>
/// The composition hook of databases into an apply: the environment's secret store as
/// <see cref="IDatabaseSecrets"/>, and the errors of <see cref="DatabaseProvisioning"/> as the
/// control plane's (a failed migration is the spec's fault: Invalid; an engine away: Unavailable).
/// </summary>
internal sealed class DatabaseApplyStep(string dataDirectory, Secrets.SecretStore secrets, Store.StateStore store, Isolation.InstanceUsers? users = null) : IDatabaseSecrets
{
    /// <summary>How long an apply waits for an engine Flotilla runs to accept connections (its first start includes initdb).</summary>
    public static readonly TimeSpan EngineStartTimeout = TimeSpan.FromSeconds(90);

    public Databases.Engines.EngineController? Engines { get; set; }


    public string? Get(string name) => secrets.Get(name);

    public void Set(string name, string value) => secrets.Set(name, value, "flotilla (database provisioning)", DateTimeOffset.UtcNow);

    public async Task<SystemSpec> PrepareAsync(SystemSpec spec, string actor, Action<string>? progress, Func<ServiceSpec, string?> contractBlocked, CancellationToken cancellationToken)
    {
        if (spec.Services.All(s => s.Database is null))
        {
            return spec;
        }
        var engines = Engines ?? throw new InvalidOperationException("the engine controller is not wired");
        var provisioning = new DatabaseProvisioning(dataDirectory, this, () => store.Secrets().Select(s => s.Name).ToHashSet(StringComparer.Ordinal), () => engines.Running, engines.MemberPorts, users);
        try
        {
            var used = spec.EngineList.Where(e => spec.Services.Any(s => s.Database?.Engine == e.Name)).ToList();
            if (used.Any(e => !e.IsExternal))
            {
                progress?.Invoke($"engines: starting {string.Join(", ", used.Where(e => !e.IsExternal).Select(e => e.Name))}");
            }
            await engines.EnsureAsync(used, EngineStartTimeout, cancellationToken);
            return await provisioning.PrepareAsync(spec, actor, progress, cancellationToken, contractBlocked);
        }
        catch (MigrationException e)
        {
            throw new ControlPlaneException($"migration refused, the revision was not applied and the running one keeps serving: {e.Message}", ControlPlaneError.Invalid);
        }
        catch (DatabaseException e)
        {
            throw new ControlPlaneException(e.Message, ControlPlaneError.Unavailable);
        }
    }
}
