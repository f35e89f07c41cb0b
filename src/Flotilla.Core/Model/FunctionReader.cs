using YamlDotNet.RepresentationModel;

namespace Flotilla.Model;

/// <summary>Reads the keys of a <c>functions:</c> entry that a service does not have: trigger (its schedule and files forms in <see cref="TriggerReader"/>), scale, timeout, memory, hold.</summary>
internal static class FunctionReader
{
    /// <summary>Lambda's rule: a full core for every 1,769 MB of memory (never less than a tenth of one).</summary>
    private const double BytesPerCore = 1769.0 * 1024 * 1024;

    public static FunctionTrigger? ReadTrigger(SpecReader reader, YamlNode node, string path, string directory)
    {
        FunctionTrigger? trigger = null;
        var count = 0;
        foreach (var (key, value, _) in reader.Mapping(node, path, SpecKeys.Trigger))
        {
            count++;
            var at = SpecReader.Join(path, key);
            switch (key)
            {
                case "http":
                    if (reader.String(value, at) is { } route)
                    {
                        if (!route.StartsWith('/') || route.Contains("//", StringComparison.Ordinal) || route.Any(char.IsWhiteSpace))
                        {
                            reader.Error(value, at, $"'{route}' is not a path: give one starting with '/', e.g. '/thumbnail'");
                        }
                        else
                        {
                            trigger = new FunctionTrigger(route.Length > 1 ? route.TrimEnd('/') : route);
                        }
                    }
                    break;
                case "queue":
                    if (reader.String(value, at) is { } queue)
                    {
                        if (Names.IsServiceName(queue))
                        {
                            trigger = new FunctionTrigger(null, queue);
                        }
                        else
                        {
                            reader.Error(value, at, $"'{queue}' is not a valid queue name: {Names.ServiceNameHelp}");
                        }
                    }
                    break;
                case "schedule":
                    trigger = TriggerReader.ReadSchedule(reader, value, at) is { } schedule ? new FunctionTrigger(null) { Schedule = schedule } : trigger;
                    break;
                case "files":
                    trigger = TriggerReader.ReadFiles(reader, value, at, directory) is { } files ? new FunctionTrigger(null) { Files = files } : trigger;
                    break;
            }
        }
        if (node is YamlMappingNode && count == 0)
        {
            reader.Error(node, path, "names no trigger: give one, e.g. '{ http: /thumbnail }'");
        }
        if (count > 1)
        {
            reader.Error(node, path, "a function has one trigger; declare another function (it may share the build) for another trigger");
        }
        return trigger;
    }

    public static FunctionScale ReadScale(SpecReader reader, YamlNode node, string path)
    {
        var scale = FunctionScale.Default;
        YamlNode? minNode = null;
        foreach (var (key, value, _) in reader.Mapping(node, path, SpecKeys.Scale))
        {
            var at = SpecReader.Join(path, key);
            switch (key)
            {
                case "min":
                    minNode = value;
                    scale = scale with { Min = reader.Int(value, at, 0, SpecLoader.MaxInstances, "a whole number of instances kept warm") ?? scale.Min };
                    break;
                case "max":
                    scale = scale with { Max = reader.Int(value, at, 1, SpecLoader.MaxInstances, "the most instances demand may start") ?? scale.Max };
                    break;
                case "concurrency":
                    scale = scale with { Concurrency = reader.Int(value, at, 1, 10_000, "the requests one instance is given at once") ?? scale.Concurrency };
                    break;
                case "idle":
                    scale = scale with { Idle = reader.Duration(value, at) ?? scale.Idle };
                    break;
            }
        }
        if (scale.Min > scale.Max)
        {
            reader.Error(minNode ?? node, SpecReader.Join(path, "min"), $"min ({scale.Min}) is above max ({scale.Max}); lower min or raise max");
        }
        return scale;
    }

    public static FunctionHold ReadHold(SpecReader reader, YamlNode node, string path)
    {
        var hold = FunctionHold.Default;
        foreach (var (key, value, _) in reader.Mapping(node, path, SpecKeys.Hold))
        {
            var at = SpecReader.Join(path, key);
            hold = key switch
            {
                "pending" => hold with { Pending = reader.Int(value, at, 1, 100_000, "the most requests held while an instance starts") ?? hold.Pending },
                "budget" => hold with { Budget = reader.Duration(value, at) ?? hold.Budget },
                _ => hold,
            };
        }
        return hold;
    }

    public static FunctionRetry ReadRetry(SpecReader reader, YamlNode node, string path)
    {
        var retry = FunctionRetry.Default;
        foreach (var (key, value, _) in reader.Mapping(node, path, SpecKeys.Retry))
        {
            var at = SpecReader.Join(path, key);
            retry = key switch
            {
                "attempts" => retry with { Attempts = reader.Int(value, at, 1, 1000, "how many times a message is tried in all") ?? retry.Attempts },
                "backoff" => retry with { Backoff = reader.Duration(value, at) ?? retry.Backoff },
                "maxBackoff" => retry with { MaxBackoff = reader.Duration(value, at) ?? retry.MaxBackoff },
                _ => retry,
            };
        }
        return retry;
    }

    /// <summary>Memory as Lambda sizes it: the limit, and a CPU share in proportion.</summary>
    public static ResourcesSpec? ReadMemory(SpecReader reader, YamlNode node, string path)
    {
        if (node is YamlScalarNode { Value: { } text } && Quantities.TryParseMemory(text, out var bytes) && bytes > 0)
        {
            return new ResourcesSpec(Math.Max(0.1, Math.Round(bytes / BytesPerCore, 2)), bytes);
        }
        reader.Error(node, path, $"must be an amount of memory such as 256Mi or 1Gi, got {SpecReader.Describe(node)}");
        return null;
    }
}
