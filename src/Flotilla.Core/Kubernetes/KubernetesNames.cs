using System.Security.Cryptography;
using System.Text;
using System.Text.Json;
using Flotilla.Model;

namespace Flotilla.Kubernetes;

/// <summary>
/// How Flotilla names and labels what it renders for Kubernetes. A revision is a digest of what
/// the service runs: the same spec and sources render the same names on every machine, a changed
/// one a new Deployment beside the old, so a release moves replicas and router weights between two revisions.
/// </summary>
internal static class KubernetesNames
{
    public const string FieldManager = "flotilla";
    public const string SystemLabel = "flotilla.io/system";
    public const string ServiceLabel = "flotilla.io/service";
    public const string RevisionLabel = "flotilla.io/revision";
    public const string ComponentLabel = "app.kubernetes.io/component";
    public const string ManagedByLabel = "app.kubernetes.io/managed-by";
    public const string RouterName = "flotilla-router";
    public const string ZoneTopologyKey = "topology.kubernetes.io/zone";

    /// <summary>The port every instance listens on in its pod (PORT and ASPNETCORE_URLS say so).</summary>
    public const int ContainerPort = 8080;

    public const string TenantLabel = "flotilla.io/tenant";

    /// <summary>One namespace per environment (per tenant's environment): the tenant's name, the system's, and the environment's when one is named.</summary>
    public static string Namespace(SystemSpec spec, string? tenant = null) =>
        (tenant is null ? "" : tenant + "-") + (spec.Environment is { } env ? $"{spec.Name}-{env}" : spec.Name);

    public static string Deployment(string service, string revision) => $"{service}-{revision}";

    public static string ConfigMap(string service, string revision) => $"{service}-{revision}-env";

    /// <summary>The Kubernetes Secret a spec secret is read from: the store's name as given, or the variable's for a file secret.</summary>
    public static string Secret(SecretSpec secret) => Dns(secret.Store ?? secret.Variable);

    /// <summary>A name made fit for a DNS label (lower case, digits, '-').</summary>
    public static string Dns(string name)
    {
        var text = new string(name.ToLowerInvariant().Select(c => char.IsAsciiLetterOrDigit(c) ? c : '-').ToArray()).Trim('-');
        return text.Length == 0 ? "x" : text[..Math.Min(63, text.Length)];
    }

    /// <summary>
    /// A stable digest (10 hex digits) of everything a revision's pods get: the image (or the
    /// artifact's content digest), command, environment as rendered (so a moved endpoint is a new
    /// revision too: its ConfigMap is immutable), resources, probes, timeouts and secret references.
    /// </summary>
    /// <param name="secretValues">A digest of the secret values rendered with it (<c>--include-secrets</c>): a changed value is a new revision, as a changed variable is.</param>
    public static string Revision(ServiceSpec service, string image, IReadOnlyDictionary<string, string> environment, string? secretValues = null)
    {
        var identity = new
        {
            service.Name,
            Image = image,
            service.Command,
            Env = environment.OrderBy(e => e.Key, StringComparer.Ordinal).ToList(),
            service.Resources,
            Http = new { service.Http.Health, service.Http.Ready },
            Timeouts = new { service.Timeouts.Start, service.Timeouts.Stop },
            Secrets = service.Secrets.Select(s => new { s.Variable, s.Store, File = s.File is null ? null : Path.GetFileName(s.File), s.AsFile }).ToList(),
        };
        // Appended only when there are values: revisions rendered without them keep their names.
        var bytes = JsonSerializer.SerializeToUtf8Bytes(identity).Concat(Encoding.UTF8.GetBytes(secretValues ?? "")).ToArray();
        return Convert.ToHexStringLower(SHA256.HashData(bytes))[..10];
    }

    public static Dictionary<string, string> Labels(SystemSpec spec, string service, string? revision, string component)
    {
        var labels = new Dictionary<string, string>(StringComparer.Ordinal)
        {
            ["app.kubernetes.io/name"] = service,
            ["app.kubernetes.io/part-of"] = spec.Name,
            [ComponentLabel] = component,
            [ManagedByLabel] = FieldManager,
            [SystemLabel] = spec.Name,
            [ServiceLabel] = service,
        };
        if (revision is not null)
        {
            labels[RevisionLabel] = revision;
        }
        return labels;
    }
}
