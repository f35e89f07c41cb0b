using System.Globalization;
using Flotilla.Router;

namespace Flotilla.Bench;

/// <summary>
/// The router alone, in front of instances started elsewhere: isolates the data plane's cost from
/// the control plane's. Usage: router-only PORT BACKEND_PORT... (runs until Ctrl+C).
/// </summary>
internal static class RouterOnly
{
    public static async Task<int> RunAsync(string[] args)
    {
        var port = int.Parse(args[0], CultureInfo.InvariantCulture);
        var backends = args[1..].Select(a => int.Parse(a, CultureInfo.InvariantCulture)).ToList();
        await using var router = new RouterHost();
        await router.AddServiceAsync("app", port);
        router.Apply(new RoutingTable(new Dictionary<string, IReadOnlyList<RouteDestination>>
        {
            ["app"] = backends.Select(b => new RouteDestination($"b{b}", b)).ToList(),
        }));
        Console.WriteLine($"routing 127.0.0.1:{port} -> {string.Join(", ", backends)}");
        var stop = new TaskCompletionSource();
        Console.CancelKeyPress += (_, e) => { e.Cancel = true; stop.TrySetResult(); };
        await stop.Task;
        return 0;
    }
}
