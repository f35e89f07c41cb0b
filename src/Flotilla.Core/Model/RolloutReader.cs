using System.Globalization;
using YamlDotNet.RepresentationModel;

namespace Flotilla.Model;

/// <summary>
/// Reads <c>rollout:</c> of a service: the rolling-update bounds, and the canary and blue-green
/// settings. A step list or analysis the router could not carry out is an error here, at apply,
/// never something that is silently skipped later.
/// </summary>
internal static class RolloutReader
{
    private static readonly string[] CanaryOnly = ["steps", "match", "stickyHeader", "dynamicStableScale"];
    private static readonly string[] BlueGreenOnly = ["preview", "autoPromote", "scaleDownDelay", "prePromotionAnalysis", "postPromotionAnalysis"];
    private static readonly string[] ParallelOnly = ["parallel"];

    public static RolloutSpec Read(SpecReader reader, YamlNode node, string path)
    {
        var rollout = RolloutSpec.Default;
        var seen = new Dictionary<string, YamlNode>(StringComparer.Ordinal);
        foreach (var (key, value, keyNode) in reader.Mapping(node, path, SpecKeys.Rollout))
        {
            seen[key] = keyNode;
            rollout = ReadKey(reader, rollout, key, value, $"{path}.{key}");
        }
        if (rollout.MaxSurge.Value == 0 && rollout.MaxUnavailable.Value == 0)
        {
            reader.Error(node, path, "maxSurge and maxUnavailable cannot both be 0: nothing could ever be replaced");
        }
        foreach (var (key, keyNode) in seen)
        {
            var owner = CanaryOnly.Contains(key) ? RolloutStrategy.Canary : BlueGreenOnly.Contains(key) ? RolloutStrategy.BlueGreen
                : ParallelOnly.Contains(key) ? RolloutStrategy.Parallel : (RolloutStrategy?)null;
            if (owner is { } strategy && strategy != rollout.Strategy)
            {
                reader.Error(keyNode, $"{path}.{key}", $"'{key}' belongs to strategy {Name(strategy)}; this rollout's strategy is {Name(rollout.Strategy)}");
            }
        }
        CheckRouterCanPerform(reader, rollout, node, path);
        return rollout;
    }

    private static RolloutSpec ReadKey(SpecReader reader, RolloutSpec rollout, string key, YamlNode value, string at)
    {
        switch (key)
        {
            case "strategy":
                var strategy = reader.String(value, at);
                return strategy switch
                {
                    null => rollout,
                    "rolling" => rollout with { Strategy = RolloutStrategy.Rolling },
                    "canary" => rollout with { Strategy = RolloutStrategy.Canary },
                    "blueGreen" => rollout with { Strategy = RolloutStrategy.BlueGreen },
                    "parallel" => rollout with { Strategy = RolloutStrategy.Parallel },
                    _ => reader.Invalid(value, at, $"'{strategy}' is not a strategy; strategies: rolling, canary, blueGreen, parallel", rollout),
                };
            case "maxSurge" or "maxUnavailable":
                return ReadAmount(reader, value, at) is not { } amount ? rollout
                    : key == "maxSurge" ? rollout with { MaxSurge = amount } : rollout with { MaxUnavailable = amount };
            case "minReady":
                if (value is YamlScalarNode { Value: { } text } && Quantities.TryParseDuration(text, out var zero) && zero == TimeSpan.Zero)
                {
                    return rollout with { MinReady = TimeSpan.Zero };
                }
                return reader.Duration(value, at) is { } minReady ? rollout with { MinReady = minReady } : rollout;
            case "history":
                return reader.Int(value, at, 1, RolloutSpec.MaxHistory, "a number of revisions to keep for undo") is { } history ? rollout with { History = history } : rollout;
            case "progressDeadline":
                return reader.Duration(value, at) is { } deadline ? rollout with { ProgressDeadline = deadline } : rollout;
            case "steps":
                return rollout with { Steps = ReadSteps(reader, value, at) };
            case "match":
                return rollout with { Match = ReadMatch(reader, value, at) };
            case "stickyHeader":
                return rollout with { StickyHeader = reader.String(value, at) };
            case "dynamicStableScale":
                return rollout with { DynamicStableScale = reader.Bool(value, at) ?? false };
            case "preview":
                if (value is YamlScalarNode { Value: { } port } && int.TryParse(port, NumberStyles.None, CultureInfo.InvariantCulture, out _))
                {
                    return reader.Int(value, at, 1, 65535, "true, false, or a port for the preview endpoint") is { } fixedPort
                        ? rollout with { Preview = true, PreviewPort = fixedPort } : rollout;
                }
                return rollout with { Preview = reader.Bool(value, at) ?? false };
            case "autoPromote":
                return rollout with { AutoPromote = reader.Bool(value, at) ?? true };
            case "scaleDownDelay":
                return reader.Duration(value, at) is { } delay ? rollout with { ScaleDownDelay = delay } : rollout;
            case "parallel":
                return rollout with { Parallel = ParallelReader.Read(reader, value, at) };
            case "prePromotionAnalysis":
                return rollout with { PrePromotionAnalysis = ReadAnalysis(reader, value, at) };
            default:
                return rollout with { PostPromotionAnalysis = ReadAnalysis(reader, value, at) };
        }
    }

    private static IReadOnlyList<CanaryStep> ReadSteps(SpecReader reader, YamlNode node, string path)
    {
        if (node is not YamlSequenceNode sequence)
        {
            reader.Error(node, path, $"must be a list of steps such as [{{weight: 10}}, {{pause: {{duration: 1m}}}}, {{analysis: {{...}}}}], got {SpecReader.Describe(node)}");
            return [];
        }
        var steps = new List<CanaryStep>();
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            var item = sequence.Children[i];
            var at = $"{path}[{i}]";
            var keys = reader.Mapping(item, at, SpecKeys.CanaryStep).ToList();
            if (keys.Count != 1)
            {
                if (item is YamlMappingNode { Children.Count: not 1 })
                {
                    reader.Error(item, at, "a step is exactly one of weight, pause, analysis or parallel");
                }
                continue;
            }
            var (key, value, _) = keys[0];
            steps.Add(key switch
            {
                "weight" => new CanaryStep(Weight: reader.Int(value, $"{at}.weight", 0, 100, "a whole percentage of requests") ?? 0),
                "pause" => new CanaryStep(Pause: ReadPause(reader, value, $"{at}.pause")),
                "parallel" => new CanaryStep(Parallel: ParallelReader.Read(reader, value, $"{at}.parallel")),
                _ => new CanaryStep(Analysis: ReadAnalysis(reader, value, $"{at}.analysis")),
            });
        }
        return steps;
    }

    private static PauseSpec ReadPause(SpecReader reader, YamlNode node, string path)
    {
        if (SpecReader.IsNull(node) || node is YamlMappingNode { Children.Count: 0 })
        {
            return new PauseSpec(null);
        }
        TimeSpan? duration = null;
        foreach (var (_, value, _) in reader.Mapping(node, path, SpecKeys.Pause))
        {
            duration = reader.Duration(value, $"{path}.duration");
        }
        return new PauseSpec(duration);
    }

    private static TrafficMatch? ReadMatch(SpecReader reader, YamlNode node, string path)
    {
        string? header = null, cookie = null, value = null;
        foreach (var (key, item, _) in reader.Mapping(node, path, SpecKeys.Match))
        {
            var text = reader.String(item, $"{path}.{key}");
            if (key == "header")
            {
                header = text;
            }
            else if (key == "cookie")
            {
                cookie = text;
            }
            else
            {
                value = text;
            }
        }
        if ((header is null) == (cookie is null))
        {
            reader.Error(node, path, "a match names either a header or a cookie (with an optional value), e.g. {header: X-Canary, value: \"1\"}");
            return null;
        }
        return new TrafficMatch(header, cookie, value);
    }

    private static AnalysisSpec ReadAnalysis(SpecReader reader, YamlNode node, string path)
    {
        var analysis = new AnalysisSpec();
        foreach (var (key, value, _) in reader.Mapping(node, path, SpecKeys.Analysis))
        {
            var at = $"{path}.{key}";
            analysis = key switch
            {
                "interval" => reader.Duration(value, at) is { } interval ? analysis with { Interval = interval } : analysis,
                "count" => analysis with { Count = reader.Int(value, at, 1, 1000, "a number of measurements") ?? 1 },
                "failureLimit" => analysis with { FailureLimit = reader.Int(value, at, 0, 1000, "a number of failed measurements tolerated") ?? 0 },
                "minRequests" => analysis with { MinRequests = reader.Int(value, at, 1, 1_000_000, "a number of requests a measurement needs") ?? 50 },
                "successRate" => analysis with { SuccessRate = ReadThreshold(reader, value, at, percent: true) },
                "p50" => analysis with { P50 = ReadThreshold(reader, value, at, percent: false) },
                "p95" => analysis with { P95 = ReadThreshold(reader, value, at, percent: false) },
                "p99" => analysis with { P99 = ReadThreshold(reader, value, at, percent: false) },
                "compare" => analysis with { Compare = ReadCompare(reader, value, at) },
                "baseline" => analysis with { Baseline = reader.Bool(value, at) ?? false },
                _ => analysis with { Webhooks = ReadWebhooks(reader, value, at) },
            };
        }
        if (!analysis.NeedsTraffic && analysis.Webhooks.Count == 0 && node is YamlMappingNode)
        {
            reader.Error(node, path, "an analysis needs something to judge: successRate, p50/p95/p99, compare or webhooks");
        }
        return analysis;
    }

    private static Threshold? ReadThreshold(SpecReader reader, YamlNode node, string path, bool percent)
    {
        if (reader.String(node, path) is not { } text)
        {
            return null;
        }
        var threshold = Threshold.Parse(text, percent, out var error);
        if (error is not null)
        {
            reader.Error(node, path, error);
        }
        return threshold;
    }

    private static CompareSpec ReadCompare(SpecReader reader, YamlNode node, string path)
    {
        double? p95 = null, drop = null, alpha = null;
        foreach (var (key, value, _) in reader.Mapping(node, path, SpecKeys.Compare))
        {
            var at = $"{path}.{key}";
            var text = (value as YamlScalarNode)?.Value ?? "";
            switch (key)
            {
                case "p95":
                    p95 = Percent(reader, value, at, text, '+', "at most how much higher than stable's the canary's p95 may be, e.g. \"+20%\"");
                    break;
                case "successRate":
                    drop = Percent(reader, value, at, text, '-', "at most how many points below stable's the canary's success rate may be, e.g. \"-1%\"");
                    break;
                default:
                    alpha = text == "true" ? 0.05
                        : double.TryParse(text, NumberStyles.Float, CultureInfo.InvariantCulture, out var a) && a is > 0 and < 0.5 ? a
                        : reader.Invalid<double?>(value, at, $"must be true (significance 0.05) or a significance level between 0 and 0.5 such as 0.01, got '{text}'", null);
                    break;
            }
        }
        return new CompareSpec(p95, drop, alpha);
    }

    private static double? Percent(SpecReader reader, YamlNode node, string path, string text, char sign, string what)
    {
        var body = text.StartsWith(sign) ? text[1..] : text;
        if (body.EndsWith('%') && double.TryParse(body[..^1], NumberStyles.Float, CultureInfo.InvariantCulture, out var value) && value >= 0)
        {
            return value;
        }
        reader.Error(node, path, $"must be {what}, got '{text}'");
        return null;
    }

    private static IReadOnlyList<WebhookSpec> ReadWebhooks(SpecReader reader, YamlNode node, string path)
    {
        if (node is not YamlSequenceNode sequence)
        {
            reader.Error(node, path, $"must be a list of {{url, timeout}}, got {SpecReader.Describe(node)}");
            return [];
        }
        var hooks = new List<WebhookSpec>();
        for (var i = 0; i < sequence.Children.Count; i++)
        {
            string? url = null;
            var timeout = TimeSpan.FromSeconds(10);
            foreach (var (key, value, _) in reader.Mapping(sequence.Children[i], $"{path}[{i}]", SpecKeys.Webhook))
            {
                if (key == "url")
                {
                    url = reader.String(value, $"{path}[{i}].url");
                    if (url is not null && !(Uri.TryCreate(url, UriKind.Absolute, out var uri) && uri.Scheme is "http" or "https"))
                    {
                        reader.Error(value, $"{path}[{i}].url", $"must be an http:// or https:// URL, got '{url}'");
                        url = null;
                    }
                }
                else
                {
                    timeout = reader.Duration(value, $"{path}[{i}].timeout") ?? timeout;
                }
            }
            if (url is not null)
            {
                hooks.Add(new WebhookSpec(url, timeout));
            }
            else if (sequence.Children[i] is YamlMappingNode mapping && !mapping.Children.Keys.OfType<YamlScalarNode>().Any(k => k.Value == "url"))
            {
                reader.Error(sequence.Children[i], $"{path}[{i}]", "a webhook needs a url");
            }
        }
        return hooks;
    }

    /// <summary>Steps and analyses that could only ever stall or judge nothing are refused here.</summary>
    private static void CheckRouterCanPerform(SpecReader reader, RolloutSpec rollout, YamlNode node, string path)
    {
        if (rollout.Strategy == RolloutStrategy.Canary)
        {
            if (rollout.Steps.Count == 0)
            {
                reader.Error(node, path, "a canary needs steps, e.g. [{weight: 10}, {pause: {duration: 1m}}, {weight: 50}, {analysis: {successRate: \">= 99%\"}}]");
            }
            var weight = 0;
            for (var i = 0; i < rollout.Steps.Count; i++)
            {
                var step = rollout.Steps[i];
                weight = step.Weight ?? weight;
                if (step.Analysis is { NeedsTraffic: true } && weight == 0 && rollout.Match is null)
                {
                    reader.Error(node, $"{path}.steps[{i}]", "this analysis runs while the canary gets no traffic (weight 0 and no match): it could never judge; set a weight before it");
                }
                if (step.Analysis is { Baseline: true } && (weight is 0 or 100 || step.Analysis.Compare is null))
                {
                    reader.Error(node, $"{path}.steps[{i}].analysis.baseline", "a baseline gets the same share of traffic as the canary and is judged by 'compare': it needs a weight between 1 and 99 before it and a compare block");
                }
            }
        }
        if (rollout.PrePromotionAnalysis is { Baseline: true } || rollout.PostPromotionAnalysis is { Baseline: true })
        {
            reader.Error(node, path, "a baseline is for canary analysis steps; a blue-green colour takes all traffic or none");
        }
        if (rollout.Strategy == RolloutStrategy.BlueGreen && rollout.PrePromotionAnalysis is { NeedsTraffic: true } && !rollout.Preview)
        {
            reader.Error(node, $"{path}.prePromotionAnalysis", "the new colour gets no traffic before the switch without 'preview: true', so this analysis could never judge");
        }
        if (rollout.StickyHeader is not null && rollout.Strategy == RolloutStrategy.Canary && rollout.Steps.All(s => s.Weight is null or 0 or 100))
        {
            reader.Error(node, $"{path}.stickyHeader", "stickiness only matters for a weight between 1 and 99; no step sets one");
        }
    }

    /// <summary>A count (<c>1</c>) or a percentage of the desired instances (<c>25%</c>).</summary>
    private static RolloutAmount? ReadAmount(SpecReader reader, YamlNode node, string path)
    {
        var text = (node as YamlScalarNode)?.Value ?? "";
        var percent = text.EndsWith('%');
        if (int.TryParse(percent ? text[..^1] : text, NumberStyles.None, CultureInfo.InvariantCulture, out var value)
            && (!percent || value <= 100))
        {
            return percent ? RolloutAmount.Percent(value) : RolloutAmount.Count(value);
        }
        reader.Error(node, path, $"must be a number of instances (e.g. 1) or a percentage of them (e.g. 25%), got '{text}'");
        return null;
    }

    private static string Name(RolloutStrategy strategy) => strategy switch
    {
        RolloutStrategy.Canary => "canary",
        RolloutStrategy.BlueGreen => "blueGreen",
        RolloutStrategy.Parallel => "parallel",
        _ => "rolling",
    };
}
