using Flotilla.Controllers.InstanceSets;
using Flotilla.Store;

namespace Flotilla.Hosting;

/// <summary>
/// Promotion: an environment runs the exact artifacts another one runs (the same content digests,
/// copied, never rebuilt) with its own configuration (its env, endpoints, flags, resources). The
/// revision it makes says which digest came from which environment and revision.
/// </summary>
public sealed partial class ControlPlane
{
    private const string ArtifactVariable = "ARTIFACT";
    private const string DigestVariable = "FLOTILLA_ARTIFACT_DIGEST";

    public async Task<RevisionRecord> PromoteAsync(ControlPlane source, IReadOnlyList<string>? services, string actor, CancellationToken cancellationToken = default)
    {
        var from = source.State;
        var here = State;
        var fromName = from.Environment ?? "(base)";
        var hereName = here.Environment ?? "(base)";
        var names = services is { Count: > 0 } ? services : from.Services.Select(s => s.Name).Where(n => here.Find(n) is not null).ToList();
        if (names.Count == 0)
        {
            throw new ControlPlaneException($"{fromName} and {hereName} have no service in common; apply {hereName}'s spec first", ControlPlaneError.NotFound);
        }
        var replacements = new Dictionary<string, DesiredService>(StringComparer.Ordinal);
        var parts = new List<string>();
        foreach (var name in names)
        {
            var promoted = from.Find(name) ?? throw new ControlPlaneException($"environment {fromName} runs no service '{name}'", ControlPlaneError.NotFound);
            var current = here.Find(name) ?? throw new ControlPlaneException($"environment {hereName} has no service '{name}'; apply its spec with that service first", ControlPlaneError.NotFound);
            if (!promoted.Env.TryGetValue(ArtifactVariable, out var artifact) || !promoted.Env.TryGetValue(DigestVariable, out var digest))
            {
                throw new ControlPlaneException($"'{name}' in {fromName} runs a plain command, no artifact: there is nothing to promote", ControlPlaneError.Invalid);
            }
            if (!Directory.Exists(artifact))
            {
                throw new ControlPlaneException($"the artifact of '{name}' in {fromName} ({artifact}) is gone", ControlPlaneError.Conflict);
            }
            var imported = await _artifacts.ImportAsync(artifact, cancellationToken);
            var env = new SortedDictionary<string, string>(current.Env.ToDictionary(), StringComparer.Ordinal)
            {
                [ArtifactVariable] = imported,
                [DigestVariable] = digest,
            };
            if (env.ContainsKey("ASPNETCORE_CONTENTROOT"))
            {
                env["ASPNETCORE_CONTENTROOT"] = imported;
            }
            env.Remove("FLOTILLA_REVISION");
            var command = promoted.Command.Select(a => a.Replace(artifact, imported, StringComparison.Ordinal)).ToList();
            var revision = RevisionOf(command, env, current.Http, current.Timeouts, current.Resources, current.SecretRefs, current.Runtime, current.Image);
            if (revision == current.Revision)
            {
                continue;
            }
            if (PreparesRuntime(current.RuntimeName, current.Image, current.Instances > 0 || current.Function is not null))
            {
                await PrepareRuntimeAsync(current.RuntimeName, name, current.Image, new Artifacts.Artifact(digest, imported, []), null, cancellationToken);
            }
            env["FLOTILLA_REVISION"] = revision;
            replacements[name] = current with { Revision = revision, Command = command, Env = env };
            parts.Add($"{name} digest {digest[..Math.Min(12, digest.Length)]}");
        }
        if (replacements.Count == 0)
        {
            throw new ControlPlaneException($"{hereName} already runs the artifacts {fromName} runs for {string.Join(", ", names)}", ControlPlaneError.Conflict);
        }
        return await ReplaceServicesAsync(replacements, actor,
            $"promote {string.Join(", ", parts)} from {fromName} (as its revision {source.Store.LatestRevisionNumber}), with {hereName}'s configuration");
    }
}
