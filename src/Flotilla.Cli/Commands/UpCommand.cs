using System.CommandLine;
using Flotilla.Api;
using Flotilla.Artifacts;
using Flotilla.Cli.Output;
using Flotilla.Hosting;
using Flotilla.Model;
using Spectre.Console;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla up [path] [--env E]</c>: the control plane and router in this one process, for
/// a developer: applies the spec (a revision in .flotilla/), prints the endpoints and shows live
/// status until Ctrl+C, then drains and stops everything. Edits to flotilla.yaml are applied
/// while it runs. If it is killed instead, the next <c>up</c> adopts the instances it left.
/// </summary>
internal static class UpCommand
{
    public static Command Create()
    {
        var path = CommonOptions.SpecPath();
        var env = CommonOptions.Environment();
        var state = new Option<string?>("--state")
        {
            Description = "Where artifacts, instance directories and logs go (default: .flotilla/ beside the spec)",
        };
        var engine = ServerCommand.RouterEngineOption();
        var command = new Command("up", "Build and run a system on this machine, with live status, until Ctrl+C") { path, env, state, engine };
        command.SetAction(async (parse, _) =>
        {
            using var shutdown = new ShutdownSignal();
            if (SpecErrorPrinter.TryLoad(parse.GetValue(path)!, parse.GetValue(env)) is not { } spec)
            {
                return 1;
            }
            var options = parse.GetValue(state) is { } dir ? new ControlPlaneOptions(Path.GetFullPath(dir)) : ControlPlaneOptions.For(spec);
            return await RunAsync(spec, options with { RouterEngine = parse.GetValue(engine)! }, shutdown.Token);
        });
        return command;
    }

    private static async Task<int> RunAsync(SystemSpec spec, ControlPlaneOptions options, CancellationToken stop)
    {
        var interactive = !Console.IsOutputRedirected && AnsiConsole.Profile.Capabilities.Interactive;
        ControlPlane host;
        try
        {
            host = await ControlPlane.StartAsync(options, stop);
        }
        catch (ControlPlaneException e)
        {
            Console.Error.WriteLine($"error: {e.Message}");
            return 1;
        }
        try
        {
            if (host.Adoption.Instances > 0)
            {
                Console.WriteLine($"adopted {host.Adoption.Instances} instances left running by an earlier Flotilla ({host.Adoption.Took.TotalMilliseconds:0} ms)");
            }
            var request = SpecWatcher.Request(spec.File, spec.Environment);
            try
            {
                var applied = interactive
                    ? await AnsiConsole.Status().StartAsync("starting", ctx => host.ApplyAsync(request, m => ctx.Status(Markup.Escape(m)), stop))
                    : await host.ApplyAsync(request, m => Console.WriteLine($"build: {m}"), stop);
                SpecErrorPrinter.PrintWarnings(applied.Warnings);
                Console.WriteLine(applied.Unchanged ? $"revision {applied.Revision.Number} (unchanged)" : $"revision {applied.Revision.Number}: {applied.Revision.Summary}");
            }
            catch (OperationCanceledException)
            {
                return 130;
            }
            catch (Exception e) when (e is ArtifactBuildException or ControlPlaneException or SpecException)
            {
                Console.Error.WriteLine($"error: {e.Message}");
                if (e is ArtifactBuildException build)
                {
                    Console.Error.WriteLine("  " + string.Join("\n  ", build.OutputTail));
                }
                return 1;
            }
            PrintEndpoints(host);
            using var watcher = new SpecWatcher(spec.File, spec.Environment, host);
            if (interactive)
            {
                await AnsiConsole.Live(StatusView.Render(SystemView.From(host.Status()), [], "")).StartAsync(async live =>
                {
                    while (!stop.IsCancellationRequested)
                    {
                        var recent = host.Events.Since(0).TakeLast(6).ToList();
                        live.UpdateTarget(StatusView.Render(SystemView.From(host.Status()), recent, $"{watcher.LastResult}  ·  Ctrl+C stops everything"));
                        await Delay(500, stop);
                    }
                });
            }
            else
            {
                await FollowAsync(host, watcher, stop);
            }
        }
        finally
        {
            var running = host.Status().Services.Sum(s => s.Instances.Count);
            Console.WriteLine($"stopping {running} instances (draining, then SIGTERM)...");
            await host.StopDataPlaneAsync();
            await host.DisposeAsync();
            Console.WriteLine("stopped");
        }
        return 0;
    }

    private static void PrintEndpoints(ControlPlane host)
    {
        foreach (var service in host.Status().Services)
        {
            Console.WriteLine(service.Endpoint is null
                ? $"endpoint {service.Name} - ({service.Problem})"
                : $"endpoint {service.Name} {service.Endpoint}");
        }
        if (host.FlagsUrl is { } flags)
        {
            Console.WriteLine($"flags (OFREP) {flags}: {string.Join(", ", host.Flags.Ordered.Select(f => f.Key))}");
        }
        foreach (var warning in host.Warnings)
        {
            Console.WriteLine($"warning: {warning}");
        }
    }

    private static async Task FollowAsync(ControlPlane host, SpecWatcher watcher, CancellationToken stop)
    {
        var log = new StatusLog(Console.Out);
        var announced = false;
        var lastApply = watcher.LastResult;
        long seen = 0;
        while (!stop.IsCancellationRequested)
        {
            foreach (var e in host.Events.Since(seen))
            {
                seen = e.Sequence;
                if (e.Warning)
                {
                    Console.WriteLine($"{e.At.ToLocalTime():HH:mm:ss.fff} {e.Subject}: {e.Message}");
                }
            }
            var status = SystemView.From(host.Status());
            log.Write(status);
            if (status.AllReady && !announced)
            {
                Console.WriteLine($"ready: {status.Services.Sum(s => s.Ready)} instances of {status.Services.Count} services");
                announced = true;
            }
            if (watcher.LastResult != lastApply)
            {
                lastApply = watcher.LastResult;
                Console.WriteLine(lastApply);
                announced = false;
            }
            await Delay(200, stop);
        }
    }

    private static async Task Delay(int milliseconds, CancellationToken stop)
    {
        try
        {
            await Task.Delay(milliseconds, stop);
        }
        catch (OperationCanceledException)
        {
        }
    }
}
