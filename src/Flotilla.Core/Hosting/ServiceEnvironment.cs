using Flotilla.Artifacts;
using Flotilla.Model;

namespace Flotilla.Hosting;

/// <summary>
/// The injected environment contract (versioned: see docs in the README). Per instance the
/// controller adds PORT, ASPNETCORE_URLS and FLOTILLA_INSTANCE; the rest is per revision.
/// </summary>
public static class ServiceEnvironment
{
    public const string ContractVersion = "2";

    public static IReadOnlyDictionary<string, string> For(
        SystemSpec spec,
        ServiceSpec service,
        Artifact? artifact,
        IReadOnlyDictionary<string, int> endpoints,
        string? flagsUrl = null)
    {
        var env = new SortedDictionary<string, string>(service.Env.ToDictionary(), StringComparer.Ordinal);
        foreach (var name in Reached(service))
        {
            if (endpoints.TryGetValue(name, out var port))
            {
                var url = $"http://127.0.0.1:{port}";
                env[$"services__{name}__http__0"] = url;
                env[Names.UrlVariable(name)] = url;
            }
        }
        if (flagsUrl is not null)
        {
            // The OFREP base URL, the environment's access key in its path: an OpenFeature SDK's OFREP provider takes it as is.
            env["FLOTILLA_FLAGS_URL"] = flagsUrl;
        }
        env["FLOTILLA_CONTRACT"] = ContractVersion;
        env["FLOTILLA_SYSTEM"] = spec.Name;
        env["FLOTILLA_SERVICE"] = service.Name;
        if (spec.Environment is { } environment)
        {
            env["FLOTILLA_ENVIRONMENT"] = environment;
        }
        if (artifact is not null)
        {
            env["ARTIFACT"] = artifact.Directory;
            env["FLOTILLA_ARTIFACT_DIGEST"] = artifact.Digest;
            if (service.Build is not null)
            {
                // The app runs from its own working directory but reads appsettings.json from the artifact.
                env["ASPNETCORE_CONTENTROOT"] = artifact.Directory;
            }
        }
        return env;
    }

    /// <summary>
    /// The services whose endpoints an instance is given: its own, and those it names in
    /// <c>dependsOn</c> or <c>references</c>. Only these, so adding a service to the system changes
    /// no other service's revision (contract 1 gave every service's, and restarted everything).
    /// Preview endpoints (blue-green) are not services and never given, so opening one changes no revision.
    /// </summary>
    public static IEnumerable<string> Reached(ServiceSpec service) =>
        service.DependsOn.Concat(service.References).Select(r => r.Name).Prepend(service.Name).Distinct(StringComparer.Ordinal);

    /// <summary>
    /// Where each variable of a service's environment came from: the environment overlay's entry for
    /// the service, the overlay's entry for all services, the base spec, or Flotilla itself (the contract).
    /// </summary>
    public static IReadOnlyDictionary<string, string> Sources(SystemSpec spec, ServiceSpec service, IReadOnlyDictionary<string, string> env)
    {
        var overlay = spec.Environment is { } name && spec.Environments.TryGetValue(name, out var o) ? o : null;
        var own = overlay?.Services.GetValueOrDefault(service.Name);
        return env.Keys.ToDictionary(key => key, key =>
            own?.Env.ContainsKey(key) == true ? $"environments.{overlay!.Name}.services.{service.Name}.env"
            : overlay?.Env.ContainsKey(key) == true ? $"environments.{overlay.Name}.env"
            : service.Env.ContainsKey(key) ? $"services.{service.Name}.env"
            : "flotilla", StringComparer.Ordinal);
    }
}
