using System.Text.RegularExpressions;
using YamlDotNet.RepresentationModel;

namespace Flotilla.Tests.Kubernetes;

/// <summary>
/// Instantiates the chart's templates with its values.yaml, for the only template forms the chart
/// uses (<c>.Values.x</c>, <c>index .Values.services "s" "k"</c>, with or without <c>| quote</c>): Helm
/// cannot be installed here, so this stands in for <c>helm template</c> and fails on any other form.
/// </summary>
internal static partial class HelmValues
{
    [GeneratedRegex(@"\{\{\s*(?<expr>[^}]*?)\s*\}\}")]
    private static partial Regex Action();

    public static string Instantiate(string template, string valuesYaml)
    {
        var stream = new YamlStream();
        stream.Load(new StringReader(valuesYaml));
        var values = (YamlMappingNode)stream.Documents[0].RootNode;
        return Action().Replace(template, m =>
        {
            var expr = m.Groups["expr"].Value;
            var quote = expr.EndsWith("| quote", StringComparison.Ordinal);
            expr = quote ? expr[..^"| quote".Length].Trim() : expr;
            string value;
            if (expr.StartsWith(".Values.", StringComparison.Ordinal) && !expr.Contains(' ', StringComparison.Ordinal))
            {
                value = ((YamlScalarNode)values[expr[".Values.".Length..]]).Value!;
            }
            else if (expr.StartsWith("index .Values.services ", StringComparison.Ordinal))
            {
                var keys = expr["index .Values.services ".Length..].Split(' ').Select(k => k.Trim('"')).ToArray();
                value = ((YamlScalarNode)((YamlMappingNode)((YamlMappingNode)values["services"])[keys[0]])[keys[1]]).Value!;
            }
            else
            {
                throw new InvalidOperationException($"template form not understood by this stand-in: {{{{ {m.Groups["expr"].Value} }}}}");
            }
            return quote ? "\"" + value.Replace("\"", "\\\"", StringComparison.Ordinal) + "\"" : value;
        });
    }
}
