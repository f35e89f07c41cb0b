using Flotilla.Model;

namespace Flotilla.Tests.Model;

public sealed class QuantitiesTests
{
    [Theory]
    [InlineData("500ms", 500)]
    [InlineData("30s", 30_000)]
    [InlineData("1.5s", 1_500)]
    [InlineData("2m", 120_000)]
    [InlineData("1h", 3_600_000)]
    public void Durations_Parse(string text, double milliseconds)
    {
        Assert.True(Quantities.TryParseDuration(text, out var value));
        Assert.Equal(milliseconds, value.TotalMilliseconds);
    }

    [Theory]
    [InlineData("30")]
    [InlineData("s")]
    [InlineData("-1s")]
    [InlineData("1d")]
    public void BadDurations_AreRejected(string text) => Assert.False(Quantities.TryParseDuration(text, out _));

    [Theory]
    [InlineData("256Mi", 268_435_456L)]
    [InlineData("1Gi", 1_073_741_824L)]
    [InlineData("512M", 512_000_000L)]
    [InlineData("1024", 1024L)]
    public void MemorySizes_Parse(string text, long bytes)
    {
        Assert.True(Quantities.TryParseMemory(text, out var value));
        Assert.Equal(bytes, value);
    }

    [Theory]
    [InlineData("0.5", 0.5)]
    [InlineData("2", 2.0)]
    [InlineData("250m", 0.25)]
    public void CpuShares_Parse(string text, double cores)
    {
        Assert.True(Quantities.TryParseCpu(text, out var value));
        Assert.Equal(cores, value, 6);
    }

    [Fact]
    public void Backoff_FirstRestartImmediate_ThenDoublesUpToTheCap()
    {
        var restart = new RestartSpec(TimeSpan.FromSeconds(1), TimeSpan.FromSeconds(5));
        Assert.Equal([0, 0, 1, 2, 4, 5, 5], new[] { 0, 1, 2, 3, 4, 5, 50 }.Select(n => restart.DelayAfter(n).TotalSeconds));
    }
}
