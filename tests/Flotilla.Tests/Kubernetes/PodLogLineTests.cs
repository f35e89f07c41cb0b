using Flotilla.Runtime.Kubernetes;

namespace Flotilla.Tests.Kubernetes;

/// <summary>A pod's log line with <c>timestamps=true</c>, as the kubelet writes it (RFC 3339, up to nanoseconds).</summary>
public sealed class PodLogLineTests
{
    [Theory]
    [InlineData("2026-12-05T13:25:00.123456789Z hello world", "2026-12-05T13:25:00.1234567+00:00", "hello world")]
    [InlineData("2026-12-05T13:25:00Z  indented", "2026-12-05T13:25:00+00:00", " indented")]
    [InlineData("2026-12-05T13:25:00.5Z ", "2026-12-05T13:25:00.5+00:00", "")]
    public void AStampedLine_IsItsTimeAndItsText(string line, string at, string text)
    {
        var (parsed, rest) = PodLogs.Split(line);
        Assert.Equal(DateTimeOffset.Parse(at, System.Globalization.CultureInfo.InvariantCulture), parsed);
        Assert.Equal(text, rest);
    }

    [Theory]
    [InlineData("no stamp here")]
    [InlineData("")]
    [InlineData("plain")]
    public void ALineWithoutAStamp_IsKeptWhole(string line) => Assert.Equal((null, line), PodLogs.Split(line));
}
