using Flotilla.Flags;
using Flotilla.Model;
using static Flotilla.Tests.Flags.FlagTestSets;

namespace Flotilla.Tests.Flags;

public sealed class FlagEvaluationTests
{
    [Fact]
    public void StaticFlag_AnswersItsDefault_WithReasonStatic()
    {
        var flags = Compile("""{"flags": {"f": {"state": "ENABLED", "defaultVariant": "on", "variants": {"on": true, "off": false}}}}""");
        var result = flags.Evaluate("f", EvaluationContext.Empty);
        Assert.Equal((true, "on", FlagReasons.Static), (result.Value, result.Variant, result.Reason));
    }

    [Fact]
    public void DisabledFlag_HasNoValue_AndReasonDisabled()
    {
        var flags = Compile("""{"flags": {"f": {"state": "DISABLED", "defaultVariant": "on", "variants": {"on": true, "off": false}, "targeting": {"if": [true, "off", null]}}}}""");
        var result = flags.Evaluate("f", EvaluationContext.Empty);
        Assert.Equal((null, null, FlagReasons.Disabled, null), (result.Value, result.Variant, result.Reason, result.ErrorCode));
    }

    [Fact]
    public void UnknownFlag_IsFlagNotFound()
    {
        var result = OnOff("{}").Evaluate("nope", EvaluationContext.Empty);
        Assert.Equal((FlagReasons.Error, FlagErrors.FlagNotFound), (result.Reason, result.ErrorCode));
    }

    [Theory]
    [InlineData("""{"country": "NL"}""", "on", "TARGETING_MATCH")]
    [InlineData("""{"country": "DE"}""", "off", "DEFAULT")]
    [InlineData("{}", "off", "DEFAULT")]
    public void Targeting_MatchOrDefault(string context, string variant, string reason)
    {
        var flags = OnOff("""{"if": [{"==": [{"var": "country"}, "NL"]}, "on", null]}""");
        var result = flags.Evaluate("f", Context(context));
        Assert.Equal((variant, reason), (result.Variant, result.Reason));
    }

    [Fact]
    public void Targeting_ThatNamesNoVariant_IsAnError_NotAValue()
    {
        var result = OnOff("""{"if": [true, "maybe", null]}""").Evaluate("f", EvaluationContext.Empty);
        Assert.Equal((FlagReasons.Error, FlagErrors.General, null), (result.Reason, result.ErrorCode, result.Variant));
        Assert.Contains("'maybe'", result.ErrorDetails, StringComparison.Ordinal);
    }

    [Fact]
    public void Targeting_ReturningABoolean_SelectsTheVariantOfThatName()
    {
        var flags = Compile("""{"flags": {"f": {"state": "ENABLED", "defaultVariant": "false", "variants": {"true": "yes", "false": "no"}, "targeting": {"==": [{"var": "plan"}, "pro"]}}}}""");
        Assert.Equal("yes", flags.Evaluate("f", Context("""{"plan": "pro"}""")).Value);
        Assert.Equal("no", flags.Evaluate("f", Context("""{"plan": "free"}""")).Value);
    }

    [Fact]
    public void NoDefaultVariant_DefersToTheCallersDefault()
    {
        var flags = Compile("""{"flags": {"f": {"state": "ENABLED", "defaultVariant": null, "variants": {"on": true, "off": false}, "targeting": {"if": [{"var": "beta"}, "on", null]}}}}""");
        var none = flags.Evaluate("f", EvaluationContext.Empty);
        Assert.Equal((false, FlagReasons.Default), (none.HasValue, none.Reason));
        Assert.True(flags.Evaluate("f", Context("""{"beta": true}""")).HasValue);
    }

    [Theory]
    [InlineData("""{"version": "2.1.0"}""", "on")]
    [InlineData("""{"version": "v2.0.0"}""", "on")]
    [InlineData("""{"version": "1.9.9"}""", "off")]
    [InlineData("""{"version": "2.0.0-rc.1"}""", "off")]
    [InlineData("""{"version": "not-a-version"}""", "off")]
    [InlineData("""{"version": 2}""", "on")] // flagd reads the number 2 as the version 2 (2.0.0)
    public void SemVer_GreaterOrEqual(string context, string variant) =>
        Assert.Equal(variant, OnOff("""{"if": [{"sem_ver": [{"var": "version"}, ">=", "2.0.0"]}, "on", "off"]}""").Evaluate("f", Context(context)).Variant);

    [Theory]
    [InlineData("1.2.3", "^", "1.9.0", true)]
    [InlineData("2.0.0", "^", "1.9.0", false)]
    [InlineData("1.2.3", "~", "1.2.9", true)]
    [InlineData("1.3.0", "~", "1.2.9", false)]
    [InlineData("1.2", "=", "1.2.0", true)]
    [InlineData("1.0.0+build.5", "=", "1.0.0", true)]
    [InlineData("1.0.0-alpha", "<", "1.0.0-alpha.1", true)]
    [InlineData("1.0.0-alpha.beta", "<", "1.0.0-beta", true)]
    [InlineData("1.0.0-beta.2", "<", "1.0.0-beta.11", true)]
    [InlineData("1.0.0-rc.1", "<", "1.0.0", true)]
    [InlineData("01.0.0", "=", "1.0.0", false)]
    [InlineData("1.2-rc", "=", "1.2.0-rc", false)]
    public void SemVer_FollowsGoSemverRules(string actual, string op, string target, bool expected)
    {
        var flags = OnOff($$"""{"if": [{"sem_ver": [{"var": "v"}, "{{op}}", "{{target}}"]}, "on", "off"]}""");
        Assert.Equal(expected ? "on" : "off", flags.Evaluate("f", Context($$"""{"v": "{{actual}}"}""")).Variant);
    }

    [Theory]
    [InlineData("""{"email": "ann@shop.example"}""", "on")]
    [InlineData("""{"email": "ann@other.example"}""", "off")]
    [InlineData("""{"email": 5}""", "off")]
    [InlineData("{}", "off")]
    public void EndsWith_AndStartsWith(string context, string variant)
    {
        Assert.Equal(variant, OnOff("""{"if": [{"ends_with": [{"var": "email"}, "@shop.example"]}, "on", "off"]}""").Evaluate("f", Context(context)).Variant);
        Assert.Equal(variant, OnOff("""{"if": [{"starts_with": [{"var": "email"}, "ann@shop"]}, "on", "off"]}""").Evaluate("f", Context(context)).Variant);
    }

    [Fact]
    public void FlagdProperties_AreReadable_FlagKeyAndTimestamp()
    {
        var flags = OnOff("""{"if": [{"and": [{"==": [{"var": "$flagd.flagKey"}, "f"]}, {">": [{"var": "$flagd.timestamp"}, 1000]}]}, "on", "off"]}""");
        Assert.Equal("on", flags.Evaluate("f", EvaluationContext.Empty, unixSeconds: 2000).Variant);
        Assert.Equal("off", flags.Evaluate("f", EvaluationContext.Empty, unixSeconds: 10).Variant);
    }

    [Fact]
    public void Evaluators_AreSharedRules_ResolvedThroughRef()
    {
        var flags = Compile("""
            {"$evaluators": {"staff": {"ends_with": [{"var": "email"}, "@shop.example"]}},
             "flags": {
               "a": {"state": "ENABLED", "defaultVariant": "off", "variants": {"on": true, "off": false}, "targeting": {"if": [{"$ref": "staff"}, "on", null]}},
               "b": {"state": "ENABLED", "defaultVariant": "x", "variants": {"x": "x", "y": "y"}, "targeting": {"if": [{"!": {"$ref": "staff"}}, "y", null]}}}}
            """);
        var staff = Context("""{"email": "bo@shop.example"}""");
        Assert.Equal(("on", "x"), (flags.Evaluate("a", staff).Variant, flags.Evaluate("b", staff).Variant));
        var guest = Context("""{"email": "bo@gmail.example"}""");
        Assert.Equal(("off", "y"), (flags.Evaluate("a", guest).Variant, flags.Evaluate("b", guest).Variant));
    }

    [Theory]
    [InlineData("""{"in": [{"var": "country"}, ["NL", "BE"]]}""", """{"country": "BE"}""", true)]
    [InlineData("""{"in": ["@faas.com", {"var": "email"}]}""", """{"email": "a@faas.com"}""", true)]
    [InlineData("""{"==": [{"var": "n"}, "1"]}""", """{"n": 1}""", true)]
    [InlineData("""{"===": [{"var": "n"}, "1"]}""", """{"n": 1}""", false)]
    [InlineData("""{"<": [1, {"var": "n"}, 3]}""", """{"n": 2}""", true)]
    [InlineData("""{"<": [1, {"var": "n"}, 3]}""", """{"n": 3}""", false)]
    [InlineData("""{"and": [{"var": "a"}, {"!": {"var": "b"}}]}""", """{"a": true, "b": false}""", true)]
    [InlineData("""{"or": [{"var": "a"}, {"var": "b"}]}""", """{"a": 0, "b": ""}""", false)]
    [InlineData("""{"==": [{"var": "user.tier"}, "gold"]}""", """{"user": {"tier": "gold"}}""", true)]
    [InlineData("""{"==": [{"var": ["missing", "fallback"]}, "fallback"]}""", "{}", true)]
    [InlineData("""{"!": {"missing": ["a", "b"]}}""", """{"a": 1, "b": 2}""", true)]
    [InlineData("""{"!": {"missing_some": [1, ["a", "b"]]}}""", """{"b": 2}""", true)]
    [InlineData("""{"==": [{"cat": ["a", {"var": "n"}, true]}, "a1.5true"]}""", """{"n": 1.5}""", true)]
    [InlineData("""{"==": [{"substr": ["flotilla", -3]}, "lla"]}""", "{}", true)]
    [InlineData("""{"==": [{"+": [1, "2", {"*": [2, 3]}]}, 9]}""", "{}", true)]
    [InlineData("""{"==": [{"%": [7, {"-": [5, 2]}]}, 1]}""", "{}", true)]
    [InlineData("""{"==": [{"max": [1, 7, 3]}, {"min": [9, 7]}]}""", "{}", true)]
    [InlineData("""{"some": [{"var": "roles"}, {"==": [{"var": ""}, "admin"]}]}""", """{"roles": ["dev", "admin"]}""", true)]
    [InlineData("""{"all": [{"var": "scores"}, {">=": [{"var": ""}, 5]}]}""", """{"scores": [5, 9, 4]}""", false)]
    [InlineData("""{"none": [[], true]}""", "{}", true)]
    [InlineData("""{"==": [{"reduce": [{"var": "xs"}, {"+": [{"var": "current"}, {"var": "accumulator"}]}, 0]}, 6]}""", """{"xs": [1, 2, 3]}""", true)]
    [InlineData("""{"in": ["b", {"merge": [["a"], "b", [["c"]]]}]}""", "{}", true)]
    [InlineData("""{"==": [{"map": [[1, 2], {"*": [{"var": ""}, 2]}]}, {"filter": [[2, 3, 4], {"!=": [{"var": ""}, 3]}]}]}""", "{}", false)]
    [InlineData("""{"!!": [[]]}""", "{}", false)]
    [InlineData("""{"if": [false, "no", {"var": "x"}, "yes", "else"]}""", """{"x": 1}""", true)]
    public void JsonLogic_Operators(string rule, string context, bool expected)
    {
        var flags = OnOff($$"""{"if": [{{rule}}, "on", "off"]}""");
        Assert.Equal(expected ? "on" : "off", flags.Evaluate("f", Context(context)).Variant);
    }

    [Fact]
    public void Metadata_OfTheSetAndTheFlag_IsMerged_FlagWins()
    {
        var flags = Compile("""{"metadata": {"team": "shop", "version": 3}, "flags": {"f": {"state": "ENABLED", "defaultVariant": "on", "variants": {"on": true}, "metadata": {"team": "pricing", "jira": "PR-1"}}}}""");
        var metadata = flags.Evaluate("f", EvaluationContext.Empty).Metadata;
        Assert.Equal("pricing", metadata["team"]);
        Assert.Equal(3.0, metadata["version"]);
        Assert.Equal("PR-1", metadata["jira"]);
    }

    // What flagd refuses the whole file for, we refuse too.
    [Fact]
    public void FlagFile_FlagdRefusesToo_IsRefused_WithEveryProblem_ByLineAndPath()
    {
        var text = """
            {
              "flags": {
                "a": {"state": 1, "variants": {"on": true}, "defaultVariant": "on"},
                "c": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "maybe"},
                "d": 7
              },
              "$evaluators": []
            }
            """;
        var e = Assert.Throws<SpecException>(() => FlagFile.Compile(FlagFile.Parse(text, "/x/flags.json")));
        string At(string path) => e.Errors.Single(error => error.Path == path).ToString();
        Assert.StartsWith("/x/flags.json:3:", At("flags.a.state"), StringComparison.Ordinal);
        Assert.StartsWith("/x/flags.json:4:", At("flags.c.defaultVariant"), StringComparison.Ordinal);
        Assert.Contains("a flag is an object", At("flags.d"), StringComparison.Ordinal);
        Assert.Contains("named rules", At("$evaluators"), StringComparison.Ordinal);
    }

    private const string Questionable = """
        {
          "flags": {
            "a": {"state": "ON", "variants": {"on": true}, "defaultVariant": "on"},
            "b": {"state": "ENABLED", "variants": {"on": true, "off": "no"}, "defaultVariant": "on"},
            "d": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on",
                  "targeting": {"if": [{"bogus_op": [1]}, "on", null]}},
            "e": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on",
                  "targeting": {"fractional": [["on", 1.5]]}},
            "g": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on",
                  "targeting": {"if": [{"sem_ver": [{"var": "v"}, "=>", "1.0.0"]}, "on", null]}},
            "h": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on", "targeting": {"$ref": "nope"}},
            "i": {"state": "ENABLED", "variants": {"on": true}, "defualtVariant": "on"},
            "j": {"state": "ENABLED", "variants": {"on": true}, "defaultVariant": "on", "targeting": {"starts_with": ["x"]}}
          }
        }
        """;

    // What flagd loads and serves although it looks wrong is served, each problem a warning with its place.
    [Fact]
    public void FlagFile_FlagdServes_IsServed_WithEveryQuestionableRule_AsAWarning_ByLineAndPath()
    {
        var flags = FlagFile.Compile(FlagFile.Parse(Questionable, "/x/flags.json"), strict: false, out var warnings);
        Assert.Equal(["a", "b", "d", "e", "g", "h", "i", "j"], flags.Ordered.Select(f => f.Key));
        string At(string path) => warnings.Single(w => w.Path == path).ToString();
        Assert.StartsWith("/x/flags.json:3:", At("flags.a.state"), StringComparison.Ordinal);
        Assert.Contains("mix boolean and string", At("flags.b.variants"), StringComparison.Ordinal);
        Assert.Contains("unknown operator 'bogus_op'", At("flags.d.targeting.if[0].bogus_op"), StringComparison.Ordinal);
        Assert.StartsWith("/x/flags.json:6:", At("flags.d.targeting.if[0].bogus_op"), StringComparison.Ordinal);
        Assert.Contains("whole number", At("flags.e.targeting.fractional"), StringComparison.Ordinal);
        Assert.Contains("not a sem_ver operator", At("flags.g.targeting.if[0].sem_ver[1]"), StringComparison.Ordinal);
        Assert.Contains("unknown evaluator", At("flags.h.targeting.$ref"), StringComparison.Ordinal);
        Assert.Contains("unknown key 'defualtVariant'", At("flags.i.defualtVariant"), StringComparison.Ordinal);
        Assert.Contains("'starts_with' takes 2 arguments, got 1", At("flags.j.targeting.starts_with"), StringComparison.Ordinal);
        Assert.StartsWith("/x/flags.json:13:", At("flags.j.targeting.starts_with"), StringComparison.Ordinal);
        Assert.Equal(8, warnings.Count);
    }

    [Fact]
    public void FlagFile_Strict_RefusesEveryQuestionableRule_AsToday()
    {
        var e = Assert.Throws<SpecException>(() => FlagFile.Compile(FlagFile.Parse(Questionable, "/x/flags.json"), strict: true, out _));
        Assert.Equal(8, e.Errors.Count);
        Assert.Contains(e.Errors, error => error.Path == "flags.j.targeting.starts_with");
    }

    [Theory]
    [InlineData("{\"flags\": {", "malformed JSON")]
    [InlineData("[1, 2]", "a flag file is a JSON object")]
    [InlineData("{\"flags\": {\"a\": 1, \"a\": 2}}", "appears twice")]
    [InlineData("", "empty")]
    public void MalformedJson_IsRefused_WithItsPosition(string text, string message)
    {
        var e = Assert.Throws<SpecException>(() => FlagFile.Parse(text, "/x/flags.json"));
        Assert.Contains(message, e.Errors[0].Message, StringComparison.Ordinal);
        Assert.Equal("/x/flags.json", e.Errors[0].At.File);
    }

    [Fact]
    public void Merge_ReplacesFlagsOfTheSameKey_AndKeepsTheOthers()
    {
        var baseline = FlagFile.Parse("""{"flags": {"a": {"state": "ENABLED", "defaultVariant": "on", "variants": {"on": true}}, "b": {"state": "ENABLED", "defaultVariant": "x", "variants": {"x": 1}}}}""", "/base.json");
        var prod = FlagFile.Parse("""{"flags": {"a": {"state": "DISABLED", "defaultVariant": "on", "variants": {"on": true}}}}""", "/prod.json");
        var merged = FlagDocument.Compile(FlagDocument.Merge(baseline.Document, prod.Document), (path, message) => throw new InvalidOperationException(message), (_, _) => { });
        Assert.False(merged.Flags["a"].Enabled);
        Assert.True(merged.Flags["b"].Enabled);
    }
}
