using System.Diagnostics;
using System.Globalization;
using System.Net;
using System.Net.Sockets;
using Flotilla.Hosting;

namespace Flotilla.Bench;

/// <summary>
/// Issue 19's cold start of a .NET minimal-API function, one source published three ways
/// (framework-dependent JIT, ReadyToRun, Native AOT). Per variant and rep, alternating: the same
/// published binary started by hand (program start to its first answered request: the peer), then
/// a forced cold start through Flotilla (the function at zero, one request, timed to its first byte)
/// split into the control plane's reaction (request sent to spawn), the instance's start to its
/// first passed probe, and the rest (routing table, release of the held request, the app's first
/// answer), then a warm call. The control plane and router run in this process.
/// </summary>
internal static class ColdStartVariantsBench
{
    private const string Source = """
        var builder = WebApplication.CreateSlimBuilder(args);
        builder.Logging.ClearProviders();
        var app = builder.Build();
        app.MapGet("/", () => "ok");
        app.Run();
        """;

    private static readonly (string Name, string Properties)[] Variants =
    [
        ("jit", ""),
        ("r2r", "<PublishReadyToRun>true</PublishReadyToRun><RuntimeIdentifier>linux-x64</RuntimeIdentifier><SelfContained>false</SelfContained>"),
        ("aot", "<PublishAot>true</PublishAot>"),
    ];

    public static async Task<int> RunAsync(string[] args)
    {
        var reps = Figures.Arg(args, "--reps", 20);
        var only = args.SkipWhile(a => a != "--variants").Skip(1).FirstOrDefault()?.Split(',') ?? Variants.Select(v => v.Name).ToArray();
        var variants = Variants.Where(v => only.Contains(v.Name)).ToList();
        var dir = Directory.CreateTempSubdirectory("flotilla-cold-start-").FullName;
        try
        {
            var yaml = "name: coldstart\nfunctions:\n" + string.Concat(variants.Select(v =>
                $"  {v.Name}:\n    build: {WriteProject(dir, v.Name, v.Properties)}\n    trigger: {{ http: / }}\n    scale: {{ min: 0, max: 1, concurrency: 50, idle: 1s }}\n"));
            var file = Path.Combine(dir, "flotilla.yaml");
            File.WriteAllText(file, yaml);
            var options = new ControlPlaneOptions(Path.Combine(dir, "data"));
            await using var plane = await ControlPlane.StartAsync(options);
            Console.Error.WriteLine($"building {variants.Count} variants (Native AOT takes a minute)...");
            await plane.ApplyAsync(new ApplyRequest(yaml, file, null, null, "bench"));
            using var client = new HttpClient(new SocketsHttpHandler { PooledConnectionLifetime = TimeSpan.FromMilliseconds(500), UseProxy = false }) { Timeout = TimeSpan.FromSeconds(60) };
            Console.WriteLine($"# .NET minimal API from zero: {reps} forced cold starts per variant, alternating with the same binary started by hand; ms");
            Console.WriteLine("variant\tflotilla_cold_median\tflotilla_cold_p99\tby_hand_median\tby_hand_p99\tratio_medians\twarm_median\treaction_median\tstart_to_ready_median\tready_to_first_byte_median");
            foreach (var (name, _) in variants)
            {
                var url = plane.Status().Services.Single(s => s.Name == name).Endpoint + "/";
                var entry = Entry(Directory.GetDirectories(options.ArtifactsDirectory, $"{name}-*").Single());
                var cold = new List<double[]>();
                var byHand = new List<double>();
                var warm = new List<double>();
                for (var rep = 0; rep < reps; rep++)
                {
                    await ColdStartBench.AtZeroAsync(plane, name);
                    byHand.Add(await ByHandAsync(entry, dir));
                    cold.Add(await ColdAsync(plane, client, name, url));
                    warm.Add(await ColdStartBench.FirstByteAsync(client, url));
                }
                var firstBytes = cold.Select(c => c[0]).ToList();
                Console.WriteLine(string.Join('\t', name, F(Median(firstBytes)), F(P99(firstBytes)), F(Median(byHand)), F(P99(byHand)),
                    (Median(firstBytes) / Median(byHand)).ToString("0.00", CultureInfo.InvariantCulture), F(Median(warm)),
                    F(Median(cold.Select(c => c[1]).ToList())), F(Median(cold.Select(c => c[2]).ToList())), F(Median(cold.Select(c => c[3]).ToList()))));
            }
            await plane.StopDataPlaneAsync();
        }
        finally
        {
            Directory.Delete(dir, recursive: true);
        }
        return 0;
    }

    private static string WriteProject(string dir, string name, string properties)
    {
        var project = Path.Combine(dir, "src", name);
        Directory.CreateDirectory(project);
        File.WriteAllText(Path.Combine(project, "Program.cs"), Source);
        File.WriteAllText(Path.Combine(project, "MinimalFunction.csproj"), $"""
            <Project Sdk="Microsoft.NET.Sdk.Web">
              <PropertyGroup>
                <TargetFramework>net10.0</TargetFramework>
                <ImplicitUsings>enable</ImplicitUsings>
                <InvariantGlobalization>true</InvariantGlobalization>
                {properties}
              </PropertyGroup>
            </Project>
            """);
        return project;
    }

    /// <summary>One forced cold start: first byte, reaction (sent → spawned), start → ready, ready → first byte.</summary>
    private static async Task<double[]> ColdAsync(ControlPlane plane, HttpClient client, string name, string url)
    {
        var sent = DateTimeOffset.UtcNow;
        var firstByte = await ColdStartBench.FirstByteAsync(client, url);
        var instance = plane.Status().Services.Single(s => s.Name == name).Instances.Where(i => i.ReadySince is not null).MaxBy(i => i.StartedAt)
            ?? throw new InvalidOperationException($"{name}: answered, but no instance was ready");
        var reaction = (instance.StartedAt - sent).TotalMilliseconds;
        var startToReady = (instance.ReadySince!.Value - instance.StartedAt).TotalMilliseconds;
        return [firstByte, reaction, startToReady, firstByte - reaction - startToReady];
    }

    /// <summary>The peer: the published binary started by hand, polled as tightly as a client can until it answers.</summary>
    private static async Task<double> ByHandAsync(IReadOnlyList<string> entry, string dir)
    {
        var port = FreePort();
        var start = new ProcessStartInfo(entry[0]) { WorkingDirectory = dir, RedirectStandardOutput = true, RedirectStandardError = true };
        foreach (var argument in entry.Skip(1))
        {
            start.ArgumentList.Add(argument);
        }
        start.Environment["ASPNETCORE_URLS"] = $"http://127.0.0.1:{port}";
        using var client = new HttpClient(new SocketsHttpHandler { UseProxy = false }) { Timeout = TimeSpan.FromSeconds(5) };
        var clock = Stopwatch.StartNew();
        using var process = Process.Start(start)!;
        try
        {
            while (clock.Elapsed < TimeSpan.FromSeconds(30))
            {
                try
                {
                    using var response = await client.GetAsync($"http://127.0.0.1:{port}/", HttpCompletionOption.ResponseHeadersRead);
                    if (response.StatusCode == HttpStatusCode.OK)
                    {
                        return clock.Elapsed.TotalMilliseconds;
                    }
                }
                catch (HttpRequestException)
                {
                    // Not listening yet.
                }
                await Task.Delay(1);
            }
            throw new TimeoutException($"{entry[^1]} did not answer within 30 s");
        }
        finally
        {
            process.Kill(entireProcessTree: true);
            await process.WaitForExitAsync();
        }
    }

    private static IReadOnlyList<string> Entry(string artifact)
    {
        var dll = Path.Combine(artifact, "MinimalFunction.dll");
        return File.Exists(dll) ? ["dotnet", dll] : [Path.Combine(artifact, "MinimalFunction")];
    }

    private static int FreePort()
    {
        using var listener = new TcpListener(IPAddress.Loopback, 0);
        listener.Start();
        return ((IPEndPoint)listener.LocalEndpoint).Port;
    }

    private static double Median(List<double> values)
    {
        var sorted = values.Order().ToList();
        return sorted.Count % 2 == 1 ? sorted[sorted.Count / 2] : (sorted[sorted.Count / 2 - 1] + sorted[sorted.Count / 2]) / 2;
    }

    private static double P99(List<double> values) => values.Order().ElementAt((int)Math.Ceiling(0.99 * values.Count) - 1);

    private static string F(double value) => value.ToString("0.0", CultureInfo.InvariantCulture);
}
