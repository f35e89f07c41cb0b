using YamlDotNet.RepresentationModel;

namespace Flotilla.Model;

/// <summary>Reads one entry of <c>services:</c>.</summary>
internal static class ServiceReader
{
    /// <param name="function">True for an entry of <c>functions:</c>: its own keys are read, and its count starts at <c>scale.min</c>.</param>
    public static ServiceSpec? Read(SpecReader reader, string name, YamlNode node, string directory, bool function = false)
    {
        var path = function ? $"functions.{name}" : $"services.{name}";
        var service = new ServiceSpec { Name = name, At = reader.At(node) };
        YamlNode? buildNode = null, commandNode = null, imageNode = null, filesNode = null;
        FunctionTrigger? trigger = null;
        var (scale, timeout, hold, retry) = (FunctionScale.Default, FunctionSpec.DefaultTimeout, FunctionHold.Default, FunctionRetry.Default);
        foreach (var (key, value, _) in reader.Mapping(node, path, function ? SpecKeys.Function : SpecKeys.Service))
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
                case "image":
                    imageNode = value;
                    service = service with { Image = ReadImage(reader, value, at) };
                    break;
                case "files":
                    filesNode = value;
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
                case "database":
                    service = service with { Database = DatabaseReader.Database(reader, name, value, at, directory) };
                    break;
                case "secrets":
                    service = service with { Secrets = ReadSecrets(reader, value, at, directory) };
                    break;
                case "resources":
                    service = service with { Resources = ReadResources(reader, value, at) };
                    break;
                case "dependsOn":
                    service = service with { DependsOn = ReadServiceNames(reader, value, at) };
                    break;
                case "references":
                    service = service with { References = ReadServiceNames(reader, value, at) };
                    break;
                case "rollout":
                    service = service with { Rollout = RolloutReader.Read(reader, value, at) };
                    break;
                case "timeouts":
                    service = service with { Timeouts = ReadTimeouts(reader, value, at) };
                    break;
                case "restart":
                    service = service with { Restart = ReadRestart(reader, value, at) };
                    break;
                case "trigger":
                    trigger = FunctionReader.ReadTrigger(reader, value, at, directory);
                    break;
                case "scale":
                    scale = FunctionReader.ReadScale(reader, value, at);
                    break;
                case "timeout":
                    timeout = reader.Duration(value, at) ?? timeout;
                    break;
                case "hold":
                    hold = FunctionReader.ReadHold(reader, value, at);
                    break;
                case "retry":
                    retry = FunctionReader.ReadRetry(reader, value, at);
                    break;
                case "memory":
                    service = service with { Resources = FunctionReader.ReadMemory(reader, value, at) };
                    break;
            }
        }
        if (function)
        {
            if (trigger is null && node is YamlMappingNode map && !map.Children.ContainsKey(new YamlScalarNode("trigger")))
            {
                reader.Error(node, $"{path}.trigger", "missing: say what runs the function, e.g. 'trigger: { http: /thumbnail }'");
            }
            service = service with { Instances = scale.Min, Function = new FunctionSpec(trigger ?? new FunctionTrigger("/"), scale, timeout, hold) { Retry = retry } };
        }
        if (buildNode is not null && commandNode is not null)
        {
            reader.Error(commandNode, $"{path}.command", "a service has either 'build' (a .NET project) or 'command' (any program), not both");
        }
        else if (imageNode is not null && (buildNode ?? filesNode) is { } other)
        {
            reader.Error(imageNode, $"{path}.image", $"an image brings its own files: a service has either 'image' or '{(other == buildNode ? "build" : "files")}', not both");
        }
        else if (buildNode is null && commandNode is null && imageNode is null && node is YamlMappingNode)
        {
            reader.Error(node, path, "says nothing to run: add 'build: <.NET project dir>', 'command: [program, args...]' or, on runtime docker, 'image: NAME:TAG'");
        }
        // Kept even when it has errors, so cross-references (dependsOn, references, ports) are checked in the same pass.
        return node is YamlMappingNode ? service : null;
    }

    /// <summary>An image reference as Docker writes one (name, optional tag or digest); not checked against an engine here.</summary>
    private static string? ReadImage(SpecReader reader, YamlNode node, string path)
    {
        var image = reader.String(node, path);
        if (image is not null && !System.Text.RegularExpressions.Regex.IsMatch(image, @"^[a-z0-9]+([._/-][a-z0-9]+)*(:[A-Za-z0-9_][A-Za-z0-9_.-]{0,127})?(@sha256:[0-9a-f]{64})?$"))
        {
            reader.Error(node, path, $"'{image}' is not an image reference: lower-case name[:tag] (e.g. 'nginx:1.25' or 'registry.local/team/app:v2')");
            return null;
        }
        return image;
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

    private static IReadOnlyList<NameRef> ReadServiceNames(SpecReader reader, YamlNode node, string path)
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

    /// <summary><c>secrets: { VAR: { store: name } | { file: path }, as: env | file }</c>; a secret file must exist when the spec loads.</summary>
    private static List<SecretSpec> ReadSecrets(SpecReader reader, YamlNode node, string path, string directory)
    {
        var secrets = new List<SecretSpec>();
        foreach (var (variable, value, keyNode) in reader.Mapping(node, path, null))
        {
            var at = SpecReader.Join(path, variable);
            if (!Names.IsEnvName(variable))
            {
                reader.Error(keyNode, at, "a secret's key is the environment variable it is injected as: letters, digits and _, not starting with a digit");
                continue;
            }
            string? store = null, file = null;
            var asFile = false;
            foreach (var (key, item, _) in reader.Mapping(value, at, SpecKeys.Secret))
            {
                switch (key)
                {
                    case "store":
                        store = reader.String(item, $"{at}.store");
                        break;
                    case "file":
                        file = reader.String(item, $"{at}.file") is { } relative ? Path.GetFullPath(Path.Combine(directory, relative)) : null;
                        if (file is not null && !File.Exists(file))
                        {
                            reader.Error(item, $"{at}.file", $"secret file {file} not found");
                        }
                        break;
                    default:
                        var kind = reader.String(item, $"{at}.as");
                        asFile = kind == "file";
                        if (kind is not ("env" or "file" or null))
                        {
                            reader.Error(item, $"{at}.as", $"must be env (the variable holds the value) or file (a file, the variable holds its path), got '{kind}'");
                        }
                        break;
                }
            }
            if ((store is null) == (file is null))
            {
                reader.Error(value, at, "give exactly one of 'store: NAME' (the control plane's secret store) and 'file: PATH'");
                continue;
            }
            secrets.Add(new SecretSpec(variable, store, file, asFile, reader.At(value)));
        }
        return secrets;
    }
}
