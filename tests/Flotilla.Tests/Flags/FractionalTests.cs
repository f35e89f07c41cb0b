using System.Text;
using Flotilla.Flags;
using Flotilla.Flags.Logic;
using static Flotilla.Tests.Flags.FlagTestSets;

namespace Flotilla.Tests.Flags;

public sealed class FractionalTests
{
    // The reference vectors of MurmurHash3 x86_32 (SMHasher's verification values and the common published ones).
    [Theory]
    [InlineData("", 0u, 0x00000000u)]
    [InlineData("", 1u, 0x514E28B7u)]
    [InlineData("", 0xffffffffu, 0x81F16F39u)]
    [InlineData("aaaa", 0x9747b28cu, 0x5A97808Au)]
    [InlineData("aaa", 0x9747b28cu, 0x283E0130u)]
    [InlineData("aa", 0x9747b28cu, 0x5D211726u)]
    [InlineData("a", 0x9747b28cu, 0x7FA09EA6u)]
    [InlineData("abcd", 0x9747b28cu, 0xF0478627u)]
    [InlineData("Hello, world!", 0x9747b28cu, 0x24884CBAu)]
    [InlineData("The quick brown fox jumps over the lazy dog", 0x9747b28cu, 0x2FA826CDu)]
    public void MurmurHash3_MatchesTheReferenceVectors(string input, uint seed, uint expected) =>
        Assert.Equal(expected, MurmurHash3.Hash32(Encoding.UTF8.GetBytes(input), seed));

    // flagd's documented headerColor example. The variants are those of current flagd's bucketing
    // ((hash x total) >> 32, since the high-precision change, flagd PR #1909), computed by hand
    // from the MurmurHash3 of "headerColor" + email; flagd's tests from before that change expected
    // yellow, blue, red, green (its old abs(int32)/MaxInt32 x 100 bucketing).
    [Theory]
    [InlineData("rachel@faas.com", "blue")]
    [InlineData("monica@faas.com", "yellow")]
    [InlineData("joey@faas.com", "red")]
    [InlineData("ross@faas.com", "blue")]
    public void Fractional_BucketsAsFlagd_ForTheFlagKeyAndEmail(string email, string variant)
    {
        var flags = Compile(HeaderColor("headerColor", """{"cat": [{"var": "$flagd.flagKey"}, {"var": "email"}]}"""));
        var result = flags.Evaluate("headerColor", Context($$"""{"email": "{{email}}"}"""));
        Assert.Equal((variant, FlagReasons.TargetingMatch), (result.Variant, result.Reason));
    }

    [Theory]
    [InlineData("rachel@faas.com", "green")]
    [InlineData("monica@faas.com", "red")]
    [InlineData("joey@faas.com", "blue")]
    [InlineData("ross@faas.com", "green")]
    public void Fractional_BucketsAsFlagd_WithACustomSeed(string email, string variant)
    {
        var flags = Compile(HeaderColor("customSeededHeaderColor", """{"cat": ["my-seed", {"var": "email"}]}"""));
        Assert.Equal(variant, flags.Evaluate("customSeededHeaderColor", Context($$"""{"email": "{{email}}"}""")).Variant);
    }

    [Fact]
    public void Fractional_WithoutABucketingValue_UsesFlagKeyAndTargetingKey()
    {
        var flags = Compile("""{"flags": {"headerColor": {"state": "ENABLED", "defaultVariant": "red", "variants": {"red": 1, "blue": 2, "green": 3}, "targeting": {"fractional": [["blue", 50], ["green", 50]]}}}}""");
        Assert.Equal("green", flags.Evaluate("headerColor", Context("""{"targetingKey": "foo@foo.com"}""")).Variant);
        // The bucketing value is the flag key followed by the targeting key: its point of 100 is 80, in green's half.
        var hash = MurmurHash3.Hash32(Encoding.UTF8.GetBytes("headerColorfoo@foo.com"));
        Assert.Equal(80UL, hash * 100UL >> 32);
    }

    [Fact]
    public void Fractional_WithNoTargetingKey_FallsBackToTheDefault()
    {
        var flags = OnOff("""{"fractional": [["on", 50], ["off", 50]]}""");
        var result = flags.Evaluate("f", EvaluationContext.Empty);
        Assert.Equal(("off", FlagReasons.Default), (result.Variant, result.Reason));
    }

    [Fact]
    public void Fractional_WeightsNeedNotAddUpTo100_AndSplitInProportion()
    {
        var flags = OnOff("""{"fractional": [["on", 1], ["off", 3]]}""");
        var on = Enumerable.Range(0, 20_000).Count(i => flags.Evaluate("f", Context($$"""{"targetingKey": "user-{{i}}"}""")).Variant == "on");
        // 25% expected; 4.5 binomial standard deviations is about 0.014.
        Assert.InRange(on / 20_000.0, 0.25 - 0.014, 0.25 + 0.014);
    }

    [Fact]
    public void Fractional_IsStickyPerUser_AndAUserOnKeepsItAsTheShareGrows()
    {
        FlagSet At(int percent) => OnOff($$"""{"fractional": [["on", {{percent}}], ["off", {{100 - percent}}]]}""");
        var (twenty, fifty) = (At(20), At(50));
        var (onAtTwenty, onAtFifty) = (0, 0);
        for (var i = 0; i < 2000; i++)
        {
            var context = Context($$"""{"targetingKey": "user-{{i}}"}""");
            var first = twenty.Evaluate("f", context).Variant;
            Assert.Equal(first, twenty.Evaluate("f", context).Variant);
            var grown = fifty.Evaluate("f", context).Variant;
            Assert.True(first != "on" || grown == "on", $"user-{i} was on at 20% and is {grown} at 50%");
            onAtTwenty += first == "on" ? 1 : 0;
            onAtFifty += grown == "on" ? 1 : 0;
        }
        // Both shares are what they say (4.5 binomial standard deviations of 2,000 users): the users on at 20%
        // are many, so the claim above was tested on each of them, and growing the share turned others on.
        Assert.InRange(onAtTwenty, 400 - 80, 400 + 80);
        Assert.InRange(onAtFifty, 1000 - 101, 1000 + 101);
    }

    [Fact]
    public void Fractional_BucketPoint_IsTheHashTimesTheTotalShiftedBy32()
    {
        // Integer bucketing: hash 0xFFFFFFFF with total 100 is point 99, the last bucket; hash 0 is the first.
        var buckets = new[] { new FractionalBucket("a", 99), new FractionalBucket("b", 1) };
        Assert.Equal("b", FractionalNode.Pick(buckets, 0xFFFFFFFF));
        Assert.Equal("a", FractionalNode.Pick(buckets, 0));
        Assert.Equal("a", FractionalNode.Pick(buckets, (uint)(99UL * (1UL << 32) / 100) - 1));
    }
}
