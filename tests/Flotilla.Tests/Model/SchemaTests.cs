using System.Text.Json;
using Flotilla.Model;

namespace Flotilla.Tests.Model;

/// <summary>The JSON Schema shipped for editors must accept exactly the keys the loader accepts.</summary>
public sealed class SchemaTests
{
    private static readonly JsonElement Schema = JsonDocument.Parse(
        typeof(SpecLoader).Assembly.GetManifestResourceStream("flotilla.schema.json")!).RootElement;

    private static string[] Keys(JsonElement node) =>
        node.GetProperty("properties").EnumerateObject().Select(p => p.Name).Order(StringComparer.Ordinal).ToArray();

    private static JsonElement Def(string name) => Schema.GetProperty("$defs").GetProperty(name);

    [Fact]
    public void SchemaKeys_MatchLoaderKeys_AtEveryLevel()
    {
        var service = Def("service");
        var environment = Def("environment");
        var cases = new (string[] Loader, JsonElement Schema)[]
        {
            (SpecKeys.Root, Schema),
            (SpecKeys.Service, service),
            (SpecKeys.Http, service.GetProperty("properties").GetProperty("http")),
            (SpecKeys.Timeouts, service.GetProperty("properties").GetProperty("timeouts")),
            (SpecKeys.Restart, service.GetProperty("properties").GetProperty("restart")),
            (SpecKeys.Resources, Def("resources")),
            (SpecKeys.Rollout, service.GetProperty("properties").GetProperty("rollout")),
            (SpecKeys.Match, service.GetProperty("properties").GetProperty("rollout").GetProperty("properties").GetProperty("match")),
            (SpecKeys.CanaryStep, Def("canaryStep")),
            (SpecKeys.Parallel, Def("parallel")),
            (SpecKeys.Pause, Def("canaryStep").GetProperty("properties").GetProperty("pause")),
            (SpecKeys.Analysis, Def("analysis")),
            (SpecKeys.Compare, Def("analysis").GetProperty("properties").GetProperty("compare")),
            (SpecKeys.Webhook, Def("analysis").GetProperty("properties").GetProperty("webhooks").GetProperty("items")),
            (SpecKeys.Environment, environment),
            (SpecKeys.Cluster, Def("cluster")),
            (SpecKeys.Release, Schema.GetProperty("properties").GetProperty("release")),
            (SpecKeys.ServiceOverlay, environment.GetProperty("properties").GetProperty("services").GetProperty("additionalProperties")),
            (SpecKeys.Secret, service.GetProperty("properties").GetProperty("secrets").GetProperty("additionalProperties")),
            (SpecKeys.Flags, Def("flags").GetProperty("oneOf")[1]),
            (SpecKeys.Function, Def("function")),
            (SpecKeys.Trigger, Def("function").GetProperty("properties").GetProperty("trigger")),
            (SpecKeys.Schedule, Def("function").GetProperty("properties").GetProperty("trigger").GetProperty("properties").GetProperty("schedule").GetProperty("oneOf")[1]),
            (SpecKeys.Files, Def("function").GetProperty("properties").GetProperty("trigger").GetProperty("properties").GetProperty("files").GetProperty("oneOf")[1]),
            (SpecKeys.Scale, Def("function").GetProperty("properties").GetProperty("scale")),
            (SpecKeys.Hold, Def("function").GetProperty("properties").GetProperty("hold")),
            (SpecKeys.Retry, Def("function").GetProperty("properties").GetProperty("retry")),
        };
        foreach (var (loader, schema) in cases)
        {
            Assert.Equal(loader.Order(StringComparer.Ordinal).ToArray(), Keys(schema));
        }
    }
}
