using System.Text.Json.Nodes;
using Flotilla.Flags;
using Flotilla.Model;
using Flotilla.Tests.Support;

namespace Flotilla.Tests.Model;

/// <summary>flags: in flotilla.yaml: the files it names are read, merged per environment and checked at load (and so at apply and validate).</summary>
public sealed class FlagsSpecTests : IDisposable
{
    private const string BaseFlags = """
        {"flags": {
          "a": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"},
          "b": {"state": "ENABLED", "variants": {"x": "x"}, "defaultVariant": "x"}}}
        """;

    private readonly TempDirectory _dir = new();

    public FlagsSpecTests() => _dir.Write("files/app.py", "print('hi')");

    public void Dispose() => _dir.Dispose();

    private static string Spec(string flags, string environments = "") => $$"""
        name: shop
        {{flags}}
        services:
          web:
            command: [python3, "${ARTIFACT}/app.py", "${PORT}"]
            files: files
            http: { port: 7001 }
        {{environments}}
        """;

    private SystemSpec Parse(string yaml, string? env = null) => SpecLoader.Parse(yaml, Path.Combine(_dir.Path, "flotilla.yaml"), env);

    private IReadOnlyList<SpecError> Errors(string yaml, string? env = null) => Assert.Throws<SpecException>(() => Parse(yaml, env)).Errors;

    private static FlagSet Served(SystemSpec spec) => FlagDocument.CompileServed(spec.Flags!.Document);

    [Fact]
    public void FlagsFile_IsReadAndChecked_AndAnEnvironmentFileReplacesFlagsOfTheSameKey()
    {
        _dir.Write("flags.json", BaseFlags);
        _dir.Write("flags.prod.json", """{"flags": {"a": {"state": "DISABLED", "variants": {"on": true, "off": false}, "defaultVariant": "on"}}}""");
        var yaml = Spec("flags: { file: flags.json, port: 7199 }", "environments:\n  prod:\n    flags: flags.prod.json\n  dev: {}");

        var baseline = Parse(yaml);
        Assert.Equal(7199, baseline.Flags!.Port);
        Assert.True(Served(baseline).Flags["a"].Enabled);

        var prod = Served(Parse(yaml, "prod"));
        Assert.False(prod.Flags["a"].Enabled);
        Assert.Equal("x", prod.Flags["b"].DefaultVariant);
        Assert.True(Served(Parse(yaml, "dev")).Flags["a"].Enabled);
        Assert.Null(Parse(Spec("")).Flags);
    }

    [Fact]
    public void BadFlags_AreSpecErrors_WithTheFlagFilesPosition()
    {
        _dir.Write("flags.json", BaseFlags.Replace("\"defaultVariant\": \"off\"", "\"defaultVariant\": \"maybe\"", StringComparison.Ordinal));
        _dir.Write("broken.json", "{\"flags\": {\"a\": ");
        var yaml = Spec("flags: flags.json", "environments:\n  prod:\n    flags: broken.json\n  qa:\n    flags: missing.json");
        var errors = Errors(yaml);
        Assert.Contains(errors, e => e.At.File.EndsWith("flags.json", StringComparison.Ordinal) && e.At.Line == 2 && e.Path == "flags.a.defaultVariant");
        Assert.Contains(errors, e => e.At.File.EndsWith("broken.json", StringComparison.Ordinal) && e.Message.StartsWith("malformed JSON", StringComparison.Ordinal));
        Assert.Contains(errors, e => e.Path == "environments.qa.flags" && e.Message.Contains("'missing.json' not found", StringComparison.Ordinal));
    }

    private const string QuestionableFlags = """
        {"flags": {
          "a": {"state": "ENABLED", "variants": {"on": true, "off": false}, "defaultVariant": "off"},
          "b": {"state": "ENABLED", "variants": {"true": "t", "false": "f", "x": "x"}, "defaultVariant": "x",
                "targeting": {"starts_with": ["only-one"]}}}}
        """;

    [Fact]
    public void QuestionableFlagRules_AreWarnings_WithTheFlagFilesPosition_AndTheFileIsServed()
    {
        _dir.Write("flags.json", QuestionableFlags);
        _dir.Write("flags.prod.json", """{"flags": {"c": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on", "targeting": {"$ref": "none"}}}}""");
        var spec = Parse(Spec("flags: flags.json", "environments:\n  prod:\n    flags: flags.prod.json"));
        // the base file's warning once, although it is checked again under prod's overlay
        var warning = Assert.Single(spec.Warnings, w => w.Path == "flags.b.targeting.starts_with");
        Assert.True(warning.At.File.EndsWith("flags.json", StringComparison.Ordinal) && warning.At.Line == 4, warning.ToString());
        Assert.Contains("takes 2 arguments, got 1", warning.Message, StringComparison.Ordinal);
        Assert.Contains(spec.Warnings, w => w.At.File.EndsWith("flags.prod.json", StringComparison.Ordinal) && w.Path == "flags.c.targeting.$ref");
        Assert.Equal(2, spec.Warnings.Count);
        Assert.Equal("x", Served(spec).Evaluate("b", EvaluationContext.Empty).Variant);
    }

    [Fact]
    public void StrictFlags_RefuseQuestionableRules_InTheEnvironmentsFilesToo()
    {
        _dir.Write("flags.json", QuestionableFlags);
        var errors = Errors(Spec("flags: { file: flags.json, strict: true }"));
        Assert.Contains(errors, e => e.Path == "flags.b.targeting.starts_with" && e.At.Line == 4);

        _dir.Write("flags.json", BaseFlags);
        _dir.Write("flags.prod.json", """{"flags": {"c": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on", "targeting": {"$ref": "none"}}}}""");
        var yaml = Spec("flags: { file: flags.json, strict: true }", "environments:\n  prod:\n    flags: flags.prod.json");
        Assert.Contains(Errors(yaml), e => e.Path == "flags.c.targeting.$ref" && e.At.File.EndsWith("flags.prod.json", StringComparison.Ordinal));
        Assert.True(Parse(Spec("flags: { file: flags.json, strict: true }")).Flags!.Strict);
        Assert.False(Parse(Spec("flags: flags.json")).Flags!.Strict);
    }

    [Theory]
    [InlineData("flags: { file: flags.json, strict: maybe }", "flags.strict", "true or false")]
    [InlineData("flags: { file: flags.json, port: 7001 }", "flags.port", "already an endpoint of service 'web'")]
    [InlineData("flags: { port: 7100 }", "flags.file", "missing")]
    [InlineData("flags: { file: flags.json, port: 99999 }", "flags.port", "a TCP port")]
    [InlineData("flags: [a]", "flags", "must be a flag file's path")]
    public void FlagsDeclaration_Refusals(string flags, string path, string fragment)
    {
        _dir.Write("flags.json", BaseFlags);
        Assert.Contains(Errors(Spec(flags)), e => e.Path == path && e.Message.Contains(fragment, StringComparison.Ordinal));
    }

    [Fact]
    public void TheExampleShop_DeclaresItsFlags_AndProdServesNewPricingOnlyInTheNetherlands()
    {
        var example = Path.Combine(Repository.Root, "examples", "shop");
        var prod = Served(SpecLoader.Load(example, "prod"));
        var context = new EvaluationContext(new Dictionary<string, object?> { ["targetingKey"] = "u1", ["country"] = "DE" });
        Assert.Equal(FlagReasons.Default, prod.Evaluate("new-pricing", context).Reason);
        var nl = new EvaluationContext(new Dictionary<string, object?> { ["country"] = "NL" });
        Assert.Equal(true, prod.Evaluate("new-pricing", nl).Value);
        Assert.Equal(7199, SpecLoader.Load(example).Flags!.Port);
        Assert.NotNull(JsonNode.Parse(SpecLoader.Load(example).Flags!.Document)!["$evaluators"]);
    }
}
