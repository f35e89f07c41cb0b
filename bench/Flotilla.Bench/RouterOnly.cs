using System.Globalization;
using Flotilla.Router;

namespace Flotilla.Bench;

/// <summary>
/// The router alone, in front of instances started elsewhere: isolates the data plane's cost from
/// the control plane's. Usage: router-only PORT [--mirror-to CANDIDATE_PORT] BACKEND_PORT... (runs
/// until SIGINT or SIGTERM). With --mirror-to, every GET is also mirrored to the candidate and
/// compared (a parallel run at 100% sampling); the comparison report is printed at the end.
/// </summary>
internal static class RouterOnly
{
    public static async Task<int> RunAsync(string[] args)
    {
        var port = int.Parse(args[0], CultureInfo.InvariantCulture);
        var rest = args[1..].ToList();
        int? candidate = null;
        if (rest.IndexOf("--mirror-to") is var at and >= 0)
        {
            candidate = int.Parse(rest[at + 1], CultureInfo.InvariantCulture);
            rest.RemoveRange(at, 2);
        }
        var backends = rest.Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToList();
        await using var router = new RouterHost();
        await router.AddServiceAsync("app", port);
        var routes = backends.Select(b => new RouteDestination($"b{b}", b, "v1")).ToList();
        if (candidate is { } c)
        {
            routes.Add(new RouteDestination($"c{c}", c, "v2"));
        }
        router.Apply(new RoutingTable(
            new Dictionary<string, IReadOnlyList<RouteDestination>> { ["app"] = routes },
            candidate is null ? null : new Dictionary<string, TrafficSplit> { ["app"] = new("v2", 0) },
            candidate is null ? null : new Dictionary<string, Flotilla.Router.Mirror.MirrorPolicy> { ["app"] = new("v2", 100, ["GET"], 64 * 1024, [], [], false, "bench") }));
        Console.WriteLine($"routing 127.0.0.1:{port} -> {string.Join(", ", backends)}{(candidate is null ? "" : $", mirroring to {candidate}")}");
        var stop = new TaskCompletionSource();
        using var interrupt = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGINT, s => { s.Cancel = true; stop.TrySetResult(); });
        using var terminate = System.Runtime.InteropServices.PosixSignalRegistration.Create(System.Runtime.InteropServices.PosixSignal.SIGTERM, s => { s.Cancel = true; stop.TrySetResult(); });
        await stop.Task;
        if (router.ParallelReport("app") is { } report)
        {
            Console.WriteLine($"mirrored: {report.Compared} compared, {report.Skipped} skipped (queue full: dropped, never waited for), {report.Mismatches} differ, {report.CandidateErrors} candidate errors");
        }
        return 0;
    }
}
