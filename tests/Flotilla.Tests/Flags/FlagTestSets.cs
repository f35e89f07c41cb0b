using Flotilla.Flags;
using Flotilla.Model;

namespace Flotilla.Tests.Flags;

/// <summary>Builds flag sets from flagd JSON text, as a flags.json would hold them.</summary>
internal static class FlagTestSets
{
    public static FlagSet Compile(string json) => FlagFile.Compile(FlagFile.Parse(json, "/test/flags.json"));

    public static EvaluationContext Context(string json) =>
        EvaluationContext.TryParseRequest(System.Text.Encoding.UTF8.GetBytes($"{{\"context\": {json}}}"), out var context, out var error)
            ? context
            : throw new ArgumentException(error);

    /// <summary>A flag "f" with variants on (true) and off (false), default off, and this targeting rule.</summary>
    public static FlagSet OnOff(string targeting, string key = "f") =>
        Compile("{\"flags\": {\"" + key + "\": {\"state\": \"ENABLED\", \"defaultVariant\": \"off\", \"variants\": {\"on\": true, \"off\": false}, \"targeting\": " + targeting + "}}}");

    public const string Colors = """{"red": "#FF0000", "blue": "#0000FF", "green": "#00FF00", "yellow": "#FFFF00"}""";

    /// <summary>flagd's documented fractional example: a per-email split of four colours for @faas.com users.</summary>
    public static string HeaderColor(string key, string bucketBy) =>
        "{\"flags\": {\"" + key + "\": {\"state\": \"ENABLED\", \"defaultVariant\": \"red\", \"variants\": " + Colors
        + ", \"targeting\": {\"if\": [{\"in\": [\"@faas.com\", {\"var\": [\"email\"]}]}, {\"fractional\": [" + bucketBy
        + ", [\"red\", 25], [\"blue\", 25], [\"green\", 25], [\"yellow\", 25]]}, null]}}}}";
}
