using Flotilla.Flags;
using static Flotilla.Tests.Flags.FlagTestSets;

namespace Flotilla.Tests.Flags;

/// <summary>
/// Where flagd's current evaluator (core/pkg/evaluator) answers at the edges, we answer the same:
/// flagd's operators answer null (so the default variant) for what they cannot use, never false;
/// sem_ver reads versions as flagd does; fractional splits as flagd's integer bucketing does, with
/// its rules for one bucket, zero and negative weights. Our own cases, one behaviour each.
/// </summary>
public sealed class FlagdConformanceTests
{
    /// <summary>
    /// A flag whose rule is just the operation: variants named "true" and "false" (what a boolean
    /// result selects) and a default "fallback", so null and false are told apart.
    /// </summary>
    private static FlagResolution Bare(string targeting, string context = "{}")
    {
        var flags = Compile("{\"flags\": {\"f\": {\"state\": \"ENABLED\", \"defaultVariant\": \"fallback\", \"variants\": {\"true\": \"T\", \"false\": \"F\", \"fallback\": \"D\"}, \"targeting\": " + targeting + "}}}");
        return flags.Evaluate("f", Context(context));
    }

    private static void IsNull(FlagResolution result) =>
        Assert.Equal(("fallback", FlagReasons.Default, null), (result.Variant, result.Reason, result.ErrorCode));

    private static void Is(bool expected, FlagResolution result) =>
        Assert.Equal((expected ? "true" : "false", FlagReasons.TargetingMatch), (result.Variant, result.Reason));

    // sem_ver

    [Theory]
    [InlineData("V3.1.0", "=", "3.1.0")]
    [InlineData("v3.1.0", "=", "V3.1.0")]
    [InlineData("3.1.0", "=", "v3.1.0")]
    [InlineData("3.1.0+ci.7", "=", "3.1.0+other")]
    public void SemVer_ReadsAVOrCapitalVPrefix_AndIgnoresBuildMetadata(string actual, string op, string target) =>
        Is(true, Bare($$"""{"sem_ver": [{"var": "v"}, "{{op}}", "{{target}}"]}""", $$"""{"v": "{{actual}}"}"""));

    [Theory]
    [InlineData("vV3.1.0")]
    [InlineData("Vv3.1.0")]
    [InlineData("VV3.1.0")]
    public void SemVer_TakesOnlyOnePrefix_MoreIsNoVersion_SoNull(string actual) =>
        IsNull(Bare("""{"sem_ver": [{"var": "v"}, "=", "3.1.0"]}""", $$"""{"v": "{{actual}}"}"""));

    [Theory]
    [InlineData("\"4\"", ">=", "4.0.0", true)]
    [InlineData("\"4.2\"", "=", "4.2.0", true)]
    [InlineData("\"4.2\"", "<", "4.2.1", true)]
    [InlineData("\"4.3.1\"", "^", "4", true)]
    [InlineData("\"5.0.0\"", "^", "4", false)]
    [InlineData("\"4.3.9\"", "~", "4.3", true)]
    [InlineData("\"4.4.0\"", "~", "4.3", false)]
    public void SemVer_ReadsPartialVersions_AsMajorOrMajorMinor(string actual, string op, string target, bool expected) =>
        Is(expected, Bare($$"""{"sem_ver": [{"var": "v"}, "{{op}}", "{{target}}"]}""", $$"""{"v": {{actual}}}"""));

    [Theory]
    [InlineData("4", "=", "4.0.0", true)]
    [InlineData("4.0", "=", "4.0.0", true)]
    [InlineData("4.25", ">", "4.3.0", true)]
    [InlineData("4.5", "<", "4.25", true)]
    [InlineData("0.9", "<", "1", true)]
    public void SemVer_ReadsANumberInTheContext_AsGoPrintsIt(string number, string op, string target, bool expected) =>
        Is(expected, Bare($$"""{"sem_ver": [{"var": "v"}, "{{op}}", "{{target}}"]}""", $$"""{"v": {{number}}}"""));

    [Theory]
    [InlineData("1000000")] // Go prints 1e+06: no version
    [InlineData("4.05")] // minor 05 has a leading zero
    [InlineData("-4")]
    [InlineData("true")]
    [InlineData("null")]
    [InlineData("[4, 0, 0]")]
    [InlineData("\"4.0.0.0\"")]
    [InlineData("\"not-a-version\"")]
    public void SemVer_OnSomethingThatIsNoVersion_IsNull_NotFalse(string actual) =>
        IsNull(Bare("""{"sem_ver": [{"var": "v"}, "=", "4.0.0"]}""", $$"""{"v": {{actual}}}"""));

    [Fact]
    public void SemVer_ReadsANumberInTheRule_Too() =>
        Is(true, Bare("""{"sem_ver": [{"var": "v"}, ">", 1.5]}""", """{"v": "1.6.0"}"""));

    [Theory]
    [InlineData("""{"sem_ver": [{"var": "v"}, "=="]}""")]
    [InlineData("""{"sem_ver": [{"var": "v"}, "=", "4.0.0", "5.0.0"]}""")]
    [InlineData("""{"sem_ver": [{"var": "v"}, "==", "4.0.0"]}""")]
    [InlineData("""{"sem_ver": [{"var": "v"}, "=>", "4.0.0"]}""")]
    [InlineData("""{"sem_ver": [{"var": "v"}, 1, "4.0.0"]}""")]
    [InlineData("""{"sem_ver": "4.0.0"}""")]
    public void SemVer_WithAWrongArgumentCountOrOperator_IsNull_NotFalse(string rule) =>
        IsNull(Bare(rule, """{"v": "4.0.0"}"""));

    [Fact]
    public void SemVer_GivenOneExpression_UsesTheListItYields_AsFlagdDoes()
    {
        Is(true, Bare("""{"sem_ver": {"var": "check"}}""", """{"check": ["4.1.0", ">=", "4.0.0"]}"""));
        IsNull(Bare("""{"sem_ver": {"var": "check"}}""", """{"check": "4.1.0"}"""));
    }

    // starts_with, ends_with

    [Theory]
    [InlineData("starts_with", """{"id": 12345}""", "12")]
    [InlineData("ends_with", """{"id": 12345}""", "45")]
    [InlineData("starts_with", """{"id": true}""", "t")]
    [InlineData("ends_with", """{"id": ["x"]}""", "x")]
    [InlineData("starts_with", "{}", "a")]
    public void StartsAndEndsWith_OnAnythingButAString_IsNull_NotFalse(string op, string context, string affix) =>
        IsNull(Bare($$"""{"{{op}}": [{"var": "id"}, "{{affix}}"]}""", context));

    [Theory]
    [InlineData("starts_with")]
    [InlineData("ends_with")]
    public void StartsAndEndsWith_WithANonStringAffix_IsNull(string op) =>
        IsNull(Bare($$"""{"{{op}}": [{"var": "id"}, 1]}""", """{"id": "1a1"}"""));

    [Theory]
    [InlineData("""{"starts_with": ["abc"]}""")]
    [InlineData("""{"ends_with": ["abc", "c", "bc"]}""")]
    [InlineData("""{"starts_with": "abc"}""")]
    [InlineData("""{"ends_with": []}""")]
    public void StartsAndEndsWith_WithAWrongArgumentCount_IsNull(string rule) => IsNull(Bare(rule));

    [Fact]
    public void StartsAndEndsWith_OnStrings_AreTrueOrFalse()
    {
        Is(true, Bare("""{"starts_with": [{"var": "id"}, "ab"]}""", """{"id": "abc"}"""));
        Is(false, Bare("""{"starts_with": [{"var": "id"}, "bc"]}""", """{"id": "abc"}"""));
        Is(true, Bare("""{"ends_with": [{"var": "id"}, "bc"]}""", """{"id": "abc"}"""));
        Is(false, Bare("""{"ends_with": [{"var": "id"}, "ab"]}""", """{"id": "abc"}"""));
    }

    // fractional

    private static string? Split(string buckets, string targetingKey, string flagKey = "f") =>
        Compile("{\"flags\": {\"" + flagKey + "\": {\"state\": \"ENABLED\", \"defaultVariant\": \"fallback\", \"variants\": {\"a\": 1, \"b\": 2, \"c\": 3, \"fallback\": 0}, \"targeting\": {\"fractional\": " + buckets + "}}}}")
            .Evaluate(flagKey, Context(targetingKey.Length == 0 ? "{}" : $$"""{"targetingKey": "{{targetingKey}}", "k": "{{targetingKey}}", "pick": "c"}""")).Variant;

    private static readonly string[] Users = Enumerable.Range(0, 200).Select(i => $"user-{i}").ToArray();

    [Fact]
    public void Fractional_WithOneBucket_AlwaysPicksIt()
    {
        Assert.All(Users, u => Assert.Equal("b", Split("""[["b", 1]]""", u)));
        Assert.All(Users, u => Assert.Equal("b", Split("""[["b"]]""", u)));
        Assert.All(Users, u => Assert.Equal("c", Split("""[{"var": "k"}, ["c", 5]]""", u)));
    }

    [Theory]
    [InlineData("""[["a", 0], ["b", 0]]""")]
    [InlineData("""[{"var": "k"}, ["a", 0]]""")]
    [InlineData("""[["a", -10], ["b", 0]]""")]
    [InlineData("""[{"var": "k"}]""")]
    [InlineData("""[]""")]
    public void Fractional_WhoseWeightsAddUpToZero_IsNull_SoTheDefault(string buckets) =>
        Assert.All(Users.Take(20), u => Assert.Equal("fallback", Split(buckets, u)));

    [Fact]
    public void Fractional_NegativeWeight_CountsAsZero()
    {
        Assert.All(Users, u => Assert.Equal("b", Split("""[["a", -50], ["b", 100]]""", u)));
        // a clamped bucket takes no share: the split is that of the other buckets alone
        Assert.All(Users, u => Assert.Equal(Split("""[["b", 30], ["c", 70]]""", u), Split("""[["b", 30], ["a", -5], ["c", 70]]""", u)));
    }

    [Theory]
    [InlineData("""[["a", 1.5], ["b", 1]]""")]
    [InlineData("""[["a", "1"], ["b", 1]]""")]
    [InlineData("""[["a", 2147483648], ["b", 1]]""")]
    [InlineData("""[["a", 2147483647], ["b", 1]]""")]
    [InlineData("""[["a", 1], "b"]""")]
    [InlineData("""[["a", 1], []]""")]
    [InlineData("""[[["a"], 1]]""")]
    [InlineData("""[{"var": "k"}, 5]""")]
    [InlineData("""{"var": "k"}""")]
    public void Fractional_WithABucketFlagdCannotRead_IsNull(string buckets) =>
        Assert.Equal("fallback", Split(buckets, "user-1"));

    [Fact]
    public void Fractional_NullWeight_CountsAsOne_AsAMissingOneDoes() =>
        Assert.All(Users, u => Assert.Equal(Split("""[["a"], ["b", 1]]""", u), Split("""[["a", null], ["b", 1]]""", u)));

    [Fact]
    public void Fractional_ABucketingValueThatIsNull_IsDropped_AndTheTargetingKeyDecides() =>
        Assert.All(Users, u => Assert.Equal(Split("""[["a", 1], ["b", 1]]""", u), Split("""[{"var": "nothing"}, ["a", 1], ["b", 1]]""", u)));

    [Fact]
    public void Fractional_WithoutBucketingValue_AndAnEmptyOrMissingTargetingKey_IsNull()
    {
        Assert.Equal("fallback", Split("""[["a", 1]]""", ""));
        var flags = Compile("""{"flags": {"f": {"state": "ENABLED", "defaultVariant": "off", "variants": {"on": true, "off": false}, "targeting": {"fractional": [["on", 1]]}}}}""");
        Assert.Equal(FlagReasons.Default, flags.Evaluate("f", Context("""{"targetingKey": ""}""")).Reason);
    }

    [Fact]
    public void Fractional_AFirstItemThatYieldsAList_IsABucket_NotTheBucketingValue() =>
        Assert.All(Users, u => Assert.Equal(Split("""[["a", 1], ["b", 1]]""", u),
            Compile("""{"flags": {"f": {"state": "ENABLED", "defaultVariant": "fallback", "variants": {"a": 1, "b": 2, "fallback": 0}, "targeting": {"fractional": [{"var": "first"}, ["b", 1]]}}}}""")
                .Evaluate("f", Context($$"""{"targetingKey": "{{u}}", "first": ["a", 1]}""")).Variant));

    [Fact]
    public void Fractional_BucketsMayBeExpressions_EvaluatedForEachContext()
    {
        // the variant comes from the context; the weight from a rule
        Assert.All(Users, u => Assert.Equal("c", Split("""[{"var": "k"}, [{"var": "pick"}, 1]]""", u)));
        Assert.All(Users, u => Assert.Equal("b", Split("""[["a", {"if": [{"var": "nope"}, 100, 0]}], ["b", 1]]""", u)));
    }

    [Fact]
    public void Fractional_MayYieldABoolean_ForAnIf()
    {
        Is(true, Bare("""{"if": [{"fractional": [[false, 0], [true, 1]]}, "true", "false"]}""", """{"targetingKey": "x"}"""));
        Is(false, Bare("""{"if": [{"fractional": [[false, 1], [true, 0]]}, "true", "false"]}""", """{"targetingKey": "x"}"""));
    }

    // rules flagd's engine cannot run, and results that name no variant

    [Fact]
    public void AReferenceToNoEvaluator_IsThatFlagsParseError_AndTheOtherFlagsServe()
    {
        var flags = Compile("""
            {"$evaluators": {"pro": {"==": [{"var": "plan"}, "pro"]}},
             "flags": {
               "orphan": {"state": "ENABLED", "defaultVariant": "off", "variants": {"on": true, "off": false}, "targeting": {"if": [{"$ref": "missing"}, "on", "off"]}},
               "good": {"state": "ENABLED", "defaultVariant": "off", "variants": {"on": true, "off": false}, "targeting": {"if": [{"$ref": "pro"}, "on", "off"]}}}}
            """);
        var orphan = flags.Evaluate("orphan", Context("""{"plan": "pro"}"""));
        Assert.Equal((FlagReasons.Error, FlagErrors.ParseError, null), (orphan.Reason, orphan.ErrorCode, orphan.Variant));
        Assert.Equal("on", flags.Evaluate("good", Context("""{"plan": "pro"}""")).Variant);
    }

    [Fact]
    public void AnUnknownOperator_IsAParseError_OnlyWhenEvaluationReachesIt()
    {
        const string rule = """{"if": [{"var": "beta"}, {"bogus": [1]}, "false"]}""";
        Assert.Equal(FlagErrors.ParseError, Bare(rule, """{"beta": true}""").ErrorCode);
        Is(false, Bare(rule, """{"beta": false}"""));
    }

    [Fact]
    public void AStandardOperatorWithAWrongArgumentCount_IsAParseError() =>
        Assert.Equal(FlagErrors.ParseError, Bare("""{"==": [1]}""").ErrorCode);

    [Fact]
    public void AResultThatNamesNoVariant_IsGeneral_AsInFlagd()
    {
        var result = Bare("""{"cat": ["ma", "ybe"]}""");
        Assert.Equal((FlagReasons.Error, FlagErrors.General, null), (result.Reason, result.ErrorCode, result.Variant));
    }

    [Fact]
    public void AnObjectOfSeveralKeys_IsAPlainValue_NotARule() =>
        Assert.Equal(FlagErrors.General, Bare("""{"if": [true, {"a": 1, "b": 2}]}""").ErrorCode);

    [Theory]
    [InlineData("\"true\"", "true", FlagReasons.TargetingMatch)]
    [InlineData("null", "fallback", FlagReasons.Default)]
    [InlineData("{}", "fallback", FlagReasons.Static)]
    public void ATargetingThatIsNotAnObject_IsEvaluatedAsTheValueItIs(string targeting, string variant, string reason)
    {
        var result = Bare(targeting);
        Assert.Equal((variant, reason), (result.Variant, result.Reason));
    }

    [Theory]
    [InlineData("\"state\": \"ON\",")]
    [InlineData("")]
    public void AStateOtherThanDisabled_ServesTheFlag(string state)
    {
        var flags = Compile("{\"flags\": {\"f\": {" + state + " \"defaultVariant\": \"on\", \"variants\": {\"on\": true}}}}");
        Assert.True(flags.Flags["f"].Enabled);
    }
}
