using YamlDotNet.Core;
using YamlDotNet.RepresentationModel;

namespace Flotilla.Model;

/// <summary>
/// Turns flotilla.yaml into a validated <see cref="SystemSpec"/>, with an environment overlay
/// applied when one is named. Every problem is collected with its file, line and column;
/// nothing is silently ignored or defaulted over.
/// </summary>
public static class SpecLoader
{
    public const string DefaultFileName = "flotilla.yaml";
    public const int MaxInstances = 1000;

    /// <summary>Loads a spec from a file, or from flotilla.yaml in a directory.</summary>
    public static SystemSpec Load(string path, string? environment = null)
    {
        var file = Directory.Exists(path) ? Path.Combine(path, DefaultFileName) : path;
        file = Path.GetFullPath(file);
        if (!File.Exists(file))
        {
            throw new SpecException([new SpecError(new SpecLocation(file, 0, 0), "", $"no spec file here; create {DefaultFileName} or pass its path")]);
        }
        return Parse(File.ReadAllText(file), file, environment);
    }

    public static SystemSpec Parse(string yaml, string file, string? environment = null)
    {
        var reader = new SpecReader(file);
        var root = ReadDocument(yaml, file);
        var directory = Path.GetDirectoryName(file) ?? ".";

        string? name = null;
        IReadOnlyList<string>? zones = null;
        string? runtime = null;
        FlagsDeclaration? flags = null;
        IReadOnlyList<EngineSpec> engines = [];
        var services = new List<ServiceSpec>();
        IReadOnlyList<ClusterSpec> clusters = [];
        ClusterReleaseSpec? release = null;
        var environments = new Dictionary<string, EnvironmentSpec>(StringComparer.Ordinal);
        var seen = new HashSet<string>();
        foreach (var (key, value, _) in reader.Mapping(root, "", SpecKeys.Root))
        {
            seen.Add(key);
            switch (key)
            {
                case "name":
                    name = reader.String(value, "name");
                    if (name is not null && !Names.IsServiceName(name))
                    {
                        reader.Error(value, "name", $"'{name}' is not a valid system name: {Names.ServiceNameHelp}");
                    }
                    break;
                case "zones":
                    zones = ReadZones(reader, value, "zones");
                    break;
                case "runtime":
                    runtime = RuntimeKind.Read(reader, value, "runtime");
                    break;
                case "engines":
                    engines = DatabaseReader.Engines(reader, value);
                    break;
                case "flags":
                    flags = FlagsReader.Declaration(reader, value, "flags", topLevel: true);
                    break;
                case "services":
                    foreach (var (serviceName, serviceNode) in NamedEntries(reader, value, "services", "service"))
                    {
                        if (ServiceReader.Read(reader, serviceName, serviceNode, directory) is { } service)
                        {
                            services.Add(service);
                        }
                    }
                    break;
                case "functions":
                    foreach (var (functionName, functionNode) in NamedEntries(reader, value, "functions", "function"))
                    {
                        if (ServiceReader.Read(reader, functionName, functionNode, directory, function: true) is { } function)
                        {
                            services.Add(function);
                        }
                    }
                    break;
                case "clusters":
                    clusters = ClusterReader.Read(reader, value);
                    break;
                case "release":
                    release = ClusterReader.Release(reader, value);
                    break;
                case "environments":
                    foreach (var (envName, envNode) in NamedEntries(reader, value, "environments", "environment"))
                    {
                        environments[envName] = EnvironmentReader.Read(reader, envName, envNode);
                    }
                    break;
            }
        }
        var rootAt = reader.At(root);
        if (!seen.Contains("name"))
        {
            reader.Error(rootAt, "name", "missing: give the system a name, e.g. 'name: shop'");
        }
        if (!seen.Contains("services") && !seen.Contains("functions"))
        {
            reader.Error(rootAt, "services", "missing: declare at least one service under 'services:' (or a function under 'functions:')");
        }

        foreach (var function in services.Where(f => f.Function is not null && services.Any(s => s.Function is null && s.Name == f.Name)).ToList())
        {
            reader.Error(function.At, $"functions.{function.Name}", $"'{function.Name}' is already a service; functions and services share one namespace (endpoints and instances are named by it): rename one");
            services.Remove(function);
        }
        SpecChecks.CrossReferences(reader, services, environments);
        DatabaseReader.Check(reader, services, engines);
        DatabaseReader.CheckEnvironments(reader, services, engines, environments.Values);
        EnvironmentSpec? overlay = null;
        if (environment is not null && !environments.TryGetValue(environment, out overlay))
        {
            var known = environments.Count == 0 ? "this spec declares no environments" : "declared: " + string.Join(", ", environments.Keys);
            reader.Error(rootAt, "environments", $"environment '{environment}' is not declared ({known})");
        }
        var flagSet = FlagsReader.Resolve(reader, directory, flags, environments, environment);
        if (flags?.Port is { } flagPort && services.FirstOrDefault(s => s.Http.Port == flagPort || s.Rollout.PreviewPort == flagPort) is { } clash)
        {
            reader.Error(flags.At, "flags.port", $"port {flagPort} is already an endpoint of service '{clash.Name}'; the flag service needs its own port");
        }
        ClusterReader.Check(reader, services, clusters, release);
        if (reader.Errors.Count > 0)
        {
            throw new SpecException(reader.Errors);
        }

        var ordered = SpecChecks.DependencyOrder(services);
        var spec = new SystemSpec(name!, directory, file, ordered, environments, environment, zones, flagSet, runtime, engines.Count == 0 ? null : engines) { Warnings = [.. reader.Warnings], Clusters = clusters, ClusterRelease = release ?? ClusterReleaseSpec.Parallel };
        if (overlay is null)
        {
            return KubernetesNeedsImages(SqliteNeedsOneMachine(ImagesNeedDocker(spec)));
        }
        var overlaid = KubernetesNeedsImages(SqliteNeedsOneMachine(ImagesNeedDocker(EnvironmentOverlay.Apply(spec, overlay))));
        var beyond = overlaid.Services.SelectMany(s => new[] { (s.Name, Port: s.Http.Port), (s.Name, Port: s.Rollout.PreviewPort) })
            .Append(("the flag service", overlaid.Flags?.Port)).Where(p => p.Port > 65535).ToList();
        if (beyond.Count > 0)
        {
            throw new SpecException([new SpecError(overlay.At, $"environments.{overlay.Name}.portOffset",
                $"portOffset {overlay.PortOffset} moves the ports of {string.Join(", ", beyond.Select(b => $"{b.Item1} ({b.Port})"))} past 65535; use a smaller offset")]);
        }
        return overlaid;
    }

    /// <summary>An <c>image:</c> runs only in a container engine: on local processes it is refused where it is declared.</summary>
    internal static SystemSpec ImagesNeedDocker(SystemSpec spec)
    {
        if (spec.Clusters.Count > 0)
        {
            // Each cluster runs on its own kind: ClusterOverlay checks them one by one.
            return spec;
        }
        var errors = spec.Services.Where(s => s.Image is not null && !RuntimeKind.IsContainer(spec.RuntimeName))
            .Select(s => new SpecError(s.At, $"services.{s.Name}.image",
                $"runs image '{s.Image}', which needs 'runtime: docker', 'swarm' or 'kubernetes' ({(spec.Environment is { } e ? $"environment '{e}'" : "this spec")} runs on {spec.RuntimeName})"))
            .ToList();
        return errors.Count > 0 ? throw new SpecException(errors) : spec;
    }

    /// <summary>
    /// A SQLite database is a file on the control plane's machine; a swarm's tasks run on any node,
    /// and a file under a bind mount would be a different, empty one on each. Refused where the
    /// database is declared rather than half-working (pinning the tasks to the control plane's
    /// node would also defeat the swarm).
    /// </summary>
    internal static SystemSpec SqliteNeedsOneMachine(SystemSpec spec)
    {
        var errors = spec.Services.Where(s => s.Database is { Engine: null } && RuntimeKind.IsCluster(spec.RuntimeName))
            .Select(s => new SpecError(s.Database!.At, $"services.{s.Name}.database",
                $"service '{s.Name}' keeps its database in a SQLite file, which lives on the control plane's machine, but {(spec.Environment is { } e ? $"environment '{e}'" : "this spec")} runs on {(spec.RuntimeName == RuntimeKind.Swarm ? "Docker Swarm, whose tasks" : "Kubernetes, whose pods")} run on any node: "
                + $"put the database on PostgreSQL that the nodes reach (engines: {{ pg: {{ kind: postgres, external: {{ secret: pg-admin }} }} }}, then database: {{ engine: pg }}), or run this environment on 'runtime: local' or 'docker'"))
            .ToList();
        return errors.Count > 0 ? throw new SpecException(errors) : spec;
    }

    /// <summary>
    /// A Kubernetes cluster pulls its images from a registry: Flotilla builds artifacts on this machine,
    /// where no node can pull them, so on <c>runtime: kubernetes</c> every service names an image
    /// (built and pushed beforehand). Refused where the service is declared, not at the first pod.
    /// </summary>
    internal static SystemSpec KubernetesNeedsImages(SystemSpec spec)
    {
        if (spec.Clusters.Count > 0 || spec.RuntimeName != RuntimeKind.Kubernetes)
        {
            return spec;
        }
        var errors = spec.Services.Where(s => s.Image is null)
            .Select(s => new SpecError(s.At, $"services.{s.Name}.image",
                $"service '{s.Name}' has no image, but {(spec.Environment is { } e ? $"environment '{e}'" : "this spec")} runs on Kubernetes, whose nodes pull images from a registry "
                + $"and cannot reach what Flotilla builds on this machine ({(s.Build is not null ? "build:" : s.Files is not null ? "files:" : "a command on Flotilla's base image")}): "
                + "build and push an image the cluster can pull, then give it as 'image: REGISTRY/NAME:TAG' (a command: still runs in it), or run this environment on 'runtime: local', 'docker' or 'swarm'"))
            .ToList();
        return errors.Count > 0 ? throw new SpecException(errors) : spec;
    }

    /// <summary>A list of zone names: valid names, no duplicates, at least one.</summary>
    internal static IReadOnlyList<string>? ReadZones(SpecReader reader, YamlNode node, string path)
    {
        var zones = reader.StringList(node, path);
        if (zones is null)
        {
            return null;
        }
        if (zones.Count == 0)
        {
            reader.Error(node, path, "list at least one zone, or leave 'zones' out");
        }
        foreach (var zone in zones.Where(z => !Names.IsServiceName(z)))
        {
            reader.Error(node, path, $"'{zone}' is not a valid zone name: {Names.ServiceNameHelp}");
        }
        foreach (var duplicate in zones.GroupBy(z => z).Where(g => g.Count() > 1))
        {
            reader.Error(node, path, $"zone '{duplicate.Key}' is listed twice");
        }
        return zones;
    }

    /// <summary>The entries of a mapping whose keys are names (of services, environments); bad names are errors.</summary>
    private static IEnumerable<(string Name, YamlNode Node)> NamedEntries(SpecReader reader, YamlNode node, string path, string what)
    {
        foreach (var (name, value, keyNode) in reader.Mapping(node, path, null))
        {
            if (Names.IsServiceName(name))
            {
                yield return (name, value);
            }
            else
            {
                reader.Error(keyNode, $"{path}.{name}", $"'{name}' is not a valid {what} name: {Names.ServiceNameHelp}");
            }
        }
    }

    private static YamlNode ReadDocument(string yaml, string file)
    {
        try
        {
            var stream = new YamlStream();
            stream.Load(new StringReader(yaml));
            if (stream.Documents.Count == 0)
            {
                throw new SpecException([new SpecError(new SpecLocation(file, 1, 1), "", "the file is empty; it needs at least 'name:' and 'services:'")]);
            }
            if (stream.Documents.Count > 1)
            {
                var second = stream.Documents[1].RootNode.Start;
                throw new SpecException([new SpecError(new SpecLocation(file, (int)second.Line, (int)second.Column), "", "one spec per file: remove the second YAML document ('---')")]);
            }
            return stream.Documents[0].RootNode;
        }
        catch (YamlException e)
        {
            // YamlDotNet's message starts with its own "(Line: .., Col: ..)" prefix; we print ours.
            var message = e.InnerException?.Message ?? e.Message;
            var at = message.IndexOf("): ", StringComparison.Ordinal);
            var text = at >= 0 && message.StartsWith('(') ? message[(at + 3)..] : message;
            throw new SpecException([new SpecError(new SpecLocation(file, (int)e.Start.Line, (int)e.Start.Column), "", $"malformed YAML: {text}")]);
        }
        catch (Exception e) when (e is InvalidOperationException or ArgumentException or NotSupportedException)
        {
            // YamlDotNet's loader gives up this way, without a position, on some broken structures (found by the apply fuzzer).
            throw new SpecException([new SpecError(new SpecLocation(file, 1, 1), "", "malformed YAML: the structure is broken (look for a '[', '{' or quote that is never closed, or a key without a value at the wrong indentation)")]);
        }
    }
}
