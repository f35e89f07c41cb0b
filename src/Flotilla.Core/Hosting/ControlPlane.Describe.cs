using System.Security.Cryptography;
using System.Text;
using Flotilla.Artifacts;
using Flotilla.Controllers.InstanceSets;
using Flotilla.Model;

namespace Flotilla.Hosting;

/// <summary>
/// How a declared service becomes what the controller runs: its command, its environment with
/// where each variable came from, references to its secrets, and the revision id that changes
/// exactly when any of these does.
/// </summary>
public sealed partial class ControlPlane
{
    private static DesiredService Describe(SystemSpec spec, ServiceSpec service, Artifact? artifact, IReadOnlyDictionary<string, int> endpoints, string? flagsUrl,
        IReadOnlyList<Secrets.SecretRef> secrets)
    {
        // An image without a command runs its own (an empty command tells the runtime so).
        var command = artifact is { Entry.Count: > 0 } ? artifact.Entry : service.Command ?? [];
        var env = ServiceEnvironment.For(spec, service, artifact, endpoints, flagsUrl);
        if (secrets.FirstOrDefault(x => env.ContainsKey(x.Variable)) is { } clash)
        {
            throw new ControlPlaneException($"service '{service.Name}': {clash.Variable} is both a secret and an environment variable; keep one", ControlPlaneError.Invalid);
        }
        // Local processes are the runtime of every revision recorded before runtimes existed: only another one changes the id.
        var runtime = spec.RuntimeName == RuntimeKind.Local ? null : spec.RuntimeName;
        var revision = RevisionOf(command, env, service.Http, service.Timeouts, service.Resources, secrets, runtime, service.Image);
        var withRevision = new SortedDictionary<string, string>(env.ToDictionary(), StringComparer.Ordinal) { ["FLOTILLA_REVISION"] = revision };
        return new DesiredService(service.Name, revision, service.Instances, command, withRevision, service.Http, service.Timeouts, service.Restart,
            service.DependsOn.Select(d => d.Name).ToList(), service.Resources, Rollout: service.Rollout,
            Secrets: secrets.Count == 0 ? null : secrets, EnvSources: ServiceEnvironment.Sources(spec, service, withRevision), Runtime: runtime, Image: service.Image, Function: service.Function);
    }

    /// <summary>Where each of a service's secrets is, with a fingerprint of its value now; a secret that cannot be had refuses the apply.</summary>
    private List<Secrets.SecretRef> SecretRefs(ServiceSpec service) => service.Secrets.OrderBy(x => x.Variable, StringComparer.Ordinal).Select(secret =>
    {
        string value;
        if (secret.Store is { } name)
        {
            value = Secrets.Get(name) ?? throw new ControlPlaneException(
                $"service '{service.Name}': secret '{name}' ({secret.Variable}) is not in this environment's secret store; set it with 'flotilla secret set {name} --from-file FILE'", ControlPlaneError.Invalid);
        }
        else
        {
            try
            {
                value = File.ReadAllText(secret.File!);
            }
            catch (Exception e) when (e is IOException or UnauthorizedAccessException)
            {
                throw new ControlPlaneException($"service '{service.Name}': secret file {secret.File} cannot be read: {e.Message}", ControlPlaneError.Invalid);
            }
        }
        return new Secrets.SecretRef(secret.Variable, secret.Store is null ? Flotilla.Secrets.SecretRef.FromFile : Flotilla.Secrets.SecretRef.FromStore,
            secret.Store ?? secret.File!, secret.AsFile, Secrets.Fingerprint(value));
    }).ToList();

    /// <summary>
    /// Why a contract migration of the service may not run now: instances of a revision older than
    /// the one this apply makes still run (a rollout in progress, or this apply changes the service too). Null: none does.
    /// </summary>
    private string? OlderRevisionsRunning(SystemSpec spec, ServiceSpec service, Artifact? artifact)
    {
        var next = Describe(spec, service, artifact, _router.Endpoints, State.Flags is { } flags ? _flagService.UrlFor(flags.Port) : null, SecretRefs(service)).Revision;
        var older = _driver.Observe().Where(i => i.Service == service.Name && i.Revision != next && i.State != Runtime.InstanceState.Exited)
            .Select(i => i.Revision).Distinct().Order(StringComparer.Ordinal).ToList();
        return older.Count == 0 ? null : $"instances of revision {string.Join(", ", older)} still run (older than {next}, which this apply would run)";
    }

    /// <summary>A digest of everything an instance runs with; the instance count is not part of it.</summary>
    private static string RevisionOf(IReadOnlyList<string> command, IReadOnlyDictionary<string, string> env, HttpSpec http, TimeoutsSpec timeouts, ResourcesSpec? resources,
        IReadOnlyList<Secrets.SecretRef>? secrets = null, string? runtime = null, string? image = null)
    {
        var text = new StringBuilder();
        text.AppendJoin('\0', command).Append('\n');
        foreach (var (key, value) in env.OrderBy(e => e.Key, StringComparer.Ordinal))
        {
            text.Append(key).Append('=').Append(value).Append('\n');
        }
        text.Append(http).Append(timeouts).Append(resources);
        // A rotated secret is a new revision (instances restart, rolling): its fingerprint, never its value.
        foreach (var secret in secrets ?? [])
        {
            text.Append('\n').Append(secret);
        }
        if (runtime is not null)
        {
            text.Append("\nruntime=").Append(runtime);
        }
        if (image is not null)
        {
            text.Append("\nimage=").Append(image);
        }
        return Convert.ToHexStringLower(SHA256.HashData(Encoding.UTF8.GetBytes(text.ToString())))[..10];
    }
}
