using System.Diagnostics;
using System.Net.Sockets;
using static Flotilla.Bench.Figures;

namespace Flotilla.Bench;

/// <summary>
/// Steady GET load from a few keep-alive connections, with a disruption (a shell command: kill -9
/// of a proxy's worker, a reload) run at a set second; every request's end is kept, so the run
/// says what failed and how (refused, 5xx, reset) and how long the rate took to come back.
/// Usage: disruption URL --at SECONDS --run "COMMAND" [--seconds 12] [--connections 8]
/// Prints one tab-separated line: ok, failed, refused, 5xx, other, longest gap ms, ms to 90% of the rate before.
/// </summary>
internal static class DisruptionLoad
{
    public static async Task<int> RunAsync(string[] args)
    {
        var url = args[0];
        var seconds = Arg(args, "--seconds", 12);
        var connections = Arg(args, "--connections", 8);
        var at = Arg(args, "--at", 4);
        var command = args.SkipWhile(a => a != "--run").Skip(1).FirstOrDefault() ?? throw new ArgumentException("--run COMMAND is required");
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false, ConnectTimeout = TimeSpan.FromSeconds(5) }) { Timeout = TimeSpan.FromSeconds(10) };
        var clock = Stopwatch.StartNew();
        var ends = new List<(double Ms, string? Failure)>[connections];
        using var stop = new CancellationTokenSource(TimeSpan.FromSeconds(seconds));
        var loops = Enumerable.Range(0, connections).Select(i => Task.Run(async () =>
        {
            var mine = ends[i] = [];
            while (!stop.IsCancellationRequested)
            {
                string? failure;
                try
                {
                    using var response = await client.GetAsync(url, HttpCompletionOption.ResponseContentRead, stop.Token);
                    failure = (int)response.StatusCode >= 500 ? "5xx" : null;
                }
                catch (OperationCanceledException) when (stop.IsCancellationRequested)
                {
                    break;
                }
                catch (HttpRequestException e)
                {
                    failure = e.GetBaseException() is SocketException { SocketErrorCode: SocketError.ConnectionRefused } ? "refused" : "other";
                }
                mine.Add((clock.Elapsed.TotalMilliseconds, failure));
            }
        })).ToList();
        await Task.Delay(TimeSpan.FromSeconds(at));
        var eventMs = clock.Elapsed.TotalMilliseconds;
        using (var disruption = Process.Start("/bin/sh", ["-c", command]))
        {
            await disruption.WaitForExitAsync();
        }
        await Task.WhenAll(loops);

        var all = ends.SelectMany(e => e).OrderBy(e => e.Ms).ToList();
        var ok = all.Where(e => e.Failure is null).Select(e => e.Ms).ToList();
        var before = ok.Count(ms => ms >= 1000 && ms < eventMs) / ((eventMs - 1000) / 100);   // successes per 100 ms
        var recovered = Enumerable.Range(0, (int)((seconds * 1000 - eventMs) / 100) - 1)
            .Select(bin => eventMs + bin * 100)
            .FirstOrDefault(start => ok.Count(ms => ms >= start && ms < start + 100) >= 0.9 * before, double.NaN);
        var gap = ok.Zip(ok.Skip(1), (a, b) => b - a).DefaultIfEmpty(0).Max();
        Console.WriteLine(string.Join('\t', ok.Count, all.Count - ok.Count, all.Count(e => e.Failure == "refused"), all.Count(e => e.Failure == "5xx"),
            all.Count(e => e.Failure == "other"), Format(Math.Round(gap)), double.IsNaN(recovered) ? "never" : Format(Math.Round(recovered - eventMs))));
        return 0;
    }
}
