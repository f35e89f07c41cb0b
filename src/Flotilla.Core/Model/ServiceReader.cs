using YamlDotNet.RepresentationModel;

namespace Flotilla.Model;

/// <summary>Reads one entry of <c>services:</c>.</summary>
internal static class ServiceReader
{
    public static ServiceSpec? Read(SpecReader reader, string name, YamlNode node, string directory)
    {
        var path = $"services.{name}";
        var service = new ServiceSpec { Name = name, At = reader.At(node) };
        YamlNode? buildNode = null, commandNode = null;
        foreach (var (key, value, _) in reader.Mapping(node, path, SpecKeys.Service))
        {
            var at = $"{path}.{key}";
            switch (key)
            {
                case "build":
                    buildNode = value;
                    service = service with { Build = ResolveBuild(reader, value, at, directory) };
                    break;
                case "command":
                    commandNode = value;
                    service = service with { Command = ReadCommand(reader, value, at) };
                    break;
                case "files":
                    service = service with { Files = ResolveDirectory(reader, value, at, directory) };
                    break;
                case "instances":
                    service = service with { Instances = reader.Instances(value, at) ?? 1 };
                    break;
                case "http":
                    service = service with { Http = ReadHttp(reader, value, at) };
                    break;
                case "env":
                    service = service with { Env = reader.EnvMap(value, at) };
                    break;
                case "resources":
                    service = service with { Resources = ReadResources(reader, value, at) };
                    break;
                case "dependsOn":
                    service = service with { DependsOn = ReadDependsOn(reader, value, at) };
                    break;
                case "rollout":
                    service = service with { Rollout = ReadRollout(reader, value, at) };
                    break;
                case "timeouts":
                    service = service with { Timeouts = ReadTimeouts(reader, value, at) };
                    break;
                case "restart":
                    service = service with { Restart = ReadRestart(reader, value, at) };
                    break;
            }
        }
        if (buildNode is not null && commandNode is not null)
        {
            reader.Error(commandNode, $"{path}.command", "a service has either 'build' (a .NET project) or 'command' (any program), not both");
        }
        else if (buildNode is null && commandNode is null && node is YamlMappingNode)
        {
            reader.Error(node, path, "says nothing to run: add 'build: <.NET project dir>' or 'command: [program, args...]'");
        }
        // Kept even when it has errors, so cross-references (dependsOn, ports) are checked in the same pass.
        return node is YamlMappingNode ? service : null;
    }

    private static string? ResolveBuild(SpecReader reader, YamlNode node, string path, string directory)
    {
        if (reader.String(node, path) is not { } relative)
        {
            return null;
        }
        var full = Path.GetFullPath(Path.Combine(directory, relative));
        if (File.Exists(full) && full.EndsWith(".csproj", StringComparison.OrdinalIgnoreCase))
        {
            return full;
        }
        if (!Directory.Exists(full))
        {
            reader.Error(node, path, $"'{relative}' does not exist (looked for {full}); give a .NET project directory or .csproj file");
            return null;
        }
        var projects = Directory.GetFiles(full, "*.csproj");
        if (projects.Length != 1)
        {
            reader.Error(node, path, projects.Length == 0
                ? $"'{relative}' holds no .csproj file; give a .NET project directory"
                : $"'{relative}' holds {projects.Length} .csproj files; name one of them");
            return null;
        }
        return projects[0];
    }

    private static string? ResolveDirectory(SpecReader reader, YamlNode node, string path, string directory)
    {
        if (reader.String(node, path) is not { } relative)
        {
            return null;
        }
        var full = Path.GetFullPath(Path.Combine(directory, relative));
        if (!Directory.Exists(full))
        {
            reader.Error(node, path, $"'{relative}' is not a directory (looked for {full})");
            return null;
        }
        return full;
    }

    private static IReadOnlyList<string>? ReadCommand(SpecReader reader, YamlNode node, string path)
    {
        IReadOnlyList<string>? command = node is YamlScalarNode && !SpecReader.IsNull(node)
            ? reader.String(node, path)?.Split(' ', StringSplitOptions.RemoveEmptyEntries | StringSplitOptions.TrimEntries)
            : reader.StringList(node, path);
        if (command is { Count: 0 })
        {
            reader.Error(node, path, "is empty: give the program and its arguments, e.g. [python3, app.py]");
            return null;
        }
        return command;
    }

    private static HttpSpec ReadHttp(SpecReader reader, YamlNode node, string path)
    {
        var http = new HttpSpec(null, null, null);
        foreach (var (key, value, _) in reader.Mapping(node, path, SpecKeys.Http))
        {
            var at = $"{path}.{key}";
            http = key switch
            {
                "port" => http with { Port = reader.Int(value, at, 1, 65535, "a TCP port") },
                "health" => http with { Health = ProbePath(reader, value, at) },
                _ => http with { Ready = ProbePath(reader, value, at) },
            };
        }
        return http;
    }

    private static string? ProbePath(SpecReader reader, YamlNode node, string path)
    {
        var value = reader.String(node, path);
        if (value is not null && !value.StartsWith('/'))
        {
            reader.Error(node, path, $"must be a URL path starting with '/', e.g. /healthz; got '{value}'");
            return null;
        }
        return value;
    }

    internal static ResourcesSpec ReadResources(SpecReader reader, YamlNode node, string path)
    {
        var resources = new ResourcesSpec(null, null);
        foreach (var (key, value, _) in reader.Mapping(node, path, SpecKeys.Resources))
        {
            var text = value is YamlScalarNode s ? s.Value ?? "" : "";
            if (key == "cpu")
            {
                if (Quantities.TryParseCpu(text, out var cores))
                {
                    resources = resources with { Cpu = cores };
                }
                else
                {
                    reader.Error(value, $"{path}.cpu", $"must be {Quantities.CpuHelp}, got {SpecReader.Describe(value)}");
                }
            }
            else if (Quantities.TryParseMemory(text, out var bytes))
            {
                resources = resources with { MemoryBytes = bytes };
            }
            else
            {
                reader.Error(value, $"{path}.memory", $"must be {Quantities.MemoryHelp}, got {SpecReader.Describe(value)}");
            }
        }
        return resources;
    }

    private static IReadOnlyList<NameRef> ReadDependsOn(SpecReader reader, YamlNode node, string path)
    {
        if (node is not YamlSequenceNode sequence)
        {
            reader.Error(node, path, $"must be a list of service names such as [catalog, invoices], got {SpecReader.Describe(node)}");
            return [];
        }
        var refs = new List<NameRef>();
        foreach (var item in sequence.Children)
        {
            if (reader.String(item, path) is { } name)
            {
                refs.Add(new NameRef(name, reader.At(item)));
            }
        }
        return refs;
    }

    private static TimeoutsSpec ReadTimeouts(SpecReader reader, YamlNode node, string path)
    {
        var timeouts = TimeoutsSpec.Default;
        foreach (var (key, value, _) in reader.Mapping(node, path, SpecKeys.Timeouts))
        {
            var duration = reader.Duration(value, $"{path}.{key}");
            if (duration is { } d)
            {
                timeouts = key switch
                {
                    "start" => timeouts with { Start = d },
                    "drain" => timeouts with { Drain = d },
                    _ => timeouts with { Stop = d },
                };
            }
        }
        return timeouts;
    }

    private static RolloutSpec ReadRollout(SpecReader reader, YamlNode node, string path)
    {
        var rollout = RolloutSpec.Default;
        foreach (var (key, value, _) in reader.Mapping(node, path, SpecKeys.Rollout))
        {
            var at = $"{path}.{key}";
            switch (key)
            {
                case "strategy":
                    if (reader.String(value, at) is { } strategy && strategy != "rolling")
                    {
                        reader.Error(value, at, $"'{strategy}' is not a strategy here; the one there is: rolling");
                    }
                    break;
                case "maxSurge" or "maxUnavailable":
                    if (ReadAmount(reader, value, at) is { } amount)
                    {
                        rollout = key == "maxSurge" ? rollout with { MaxSurge = amount } : rollout with { MaxUnavailable = amount };
                    }
                    break;
                case "minReady":
                    if (value is YamlScalarNode { Value: { } text } && Quantities.TryParseDuration(text, out var zero) && zero == TimeSpan.Zero)
                    {
                        rollout = rollout with { MinReady = TimeSpan.Zero };
                    }
                    else if (reader.Duration(value, at) is { } minReady)
                    {
                        rollout = rollout with { MinReady = minReady };
                    }
                    break;
                case "history":
                    if (reader.Int(value, at, 1, RolloutSpec.MaxHistory, "a number of revisions to keep for undo") is { } history)
                    {
                        rollout = rollout with { History = history };
                    }
                    break;
                default:
                    if (reader.Duration(value, at) is { } deadline)
                    {
                        rollout = rollout with { ProgressDeadline = deadline };
                    }
                    break;
            }
        }
        if (rollout.MaxSurge.Value == 0 && rollout.MaxUnavailable.Value == 0)
        {
            reader.Error(node, path, "maxSurge and maxUnavailable cannot both be 0: nothing could ever be replaced");
        }
        return rollout;
    }

    /// <summary>A count (<c>1</c>) or a percentage of the desired instances (<c>25%</c>).</summary>
    private static RolloutAmount? ReadAmount(SpecReader reader, YamlNode node, string path)
    {
        var text = (node as YamlScalarNode)?.Value ?? "";
        var percent = text.EndsWith('%');
        if (int.TryParse(percent ? text[..^1] : text, System.Globalization.NumberStyles.None, System.Globalization.CultureInfo.InvariantCulture, out var value)
            && (!percent || value <= 100))
        {
            return percent ? RolloutAmount.Percent(value) : RolloutAmount.Count(value);
        }
        reader.Error(node, path, $"must be a number of instances (e.g. 1) or a percentage of them (e.g. 25%), got '{text}'");
        return null;
    }

    private static RestartSpec ReadRestart(SpecReader reader, YamlNode node, string path)
    {
        var restart = RestartSpec.Default;
        foreach (var (key, value, _) in reader.Mapping(node, path, SpecKeys.Restart))
        {
            if (reader.Duration(value, $"{path}.{key}") is { } d)
            {
                restart = key == "backoff" ? restart with { Backoff = d } : restart with { MaxBackoff = d };
            }
        }
        return restart;
    }
}
