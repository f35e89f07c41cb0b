using System.Diagnostics;
using System.Globalization;
using System.Text.RegularExpressions;

namespace Flotilla.Bench;

/// <summary>Runs wrk as a separate process and reads its report: requests, failures, latency.</summary>
internal sealed partial record WrkResult(long Requests, long Non2xx, long SocketErrors, double RequestsPerSecond, string Raw)
{
    public long Failed => Non2xx + SocketErrors;

    [GeneratedRegex(@"(\d+) requests in")]
    private static partial Regex RequestsLine();

    [GeneratedRegex(@"Non-2xx or 3xx responses: (\d+)")]
    private static partial Regex Non2xxLine();

    [GeneratedRegex(@"Socket errors: connect (\d+), read (\d+), write (\d+), timeout (\d+)")]
    private static partial Regex SocketLine();

    [GeneratedRegex(@"Requests/sec:\s+([\d.]+)")]
    private static partial Regex RateLine();

    public static WrkResult Parse(string text)
    {
        static long Int(Match m, int group = 1) => m.Success ? long.Parse(m.Groups[group].Value, CultureInfo.InvariantCulture) : 0;
        var socket = SocketLine().Match(text);
        var errors = socket.Success ? Enumerable.Range(1, 4).Sum(g => Int(socket, g)) : 0;
        var rate = RateLine().Match(text);
        return new WrkResult(Int(RequestsLine().Match(text)), Int(Non2xxLine().Match(text)), errors,
            rate.Success ? double.Parse(rate.Groups[1].Value, CultureInfo.InvariantCulture) : 0, text);
    }

}

/// <summary>Starts wrk against a URL, optionally paced by a Lua script that reads WRK_DELAY_MS.</summary>
internal static class Wrk
{
    public static async Task<WrkResult> RunAsync(string url, int connections, TimeSpan duration, string? script, int delayMs)
    {
        var start = new ProcessStartInfo("wrk") { RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var arg in new[] { "-t2", $"-c{connections}", $"-d{(int)duration.TotalSeconds}s", "--timeout", "2s", "--latency" })
        {
            start.ArgumentList.Add(arg);
        }
        if (script is not null)
        {
            start.ArgumentList.Add("-s");
            start.ArgumentList.Add(script);
        }
        start.ArgumentList.Add(url);
        start.Environment["WRK_DELAY_MS"] = delayMs.ToString(CultureInfo.InvariantCulture);
        using var process = Process.Start(start) ?? throw new InvalidOperationException("wrk did not start (apt-get install wrk)");
        var output = process.StandardOutput.ReadToEndAsync();
        var error = process.StandardError.ReadToEndAsync();
        await process.WaitForExitAsync();
        return WrkResult.Parse(await output + await error);
    }
}
