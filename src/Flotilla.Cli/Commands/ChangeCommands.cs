using System.CommandLine;
using System.Text.Json;
using Flotilla.Api;
using Flotilla.Cli.Client;
using Flotilla.Cli.Output;
using Flotilla.Conditions;
using Flotilla.Hosting;
using Flotilla.Model;
using Spectre.Console;

namespace Flotilla.Cli.Commands;

/// <summary>The verbs that change the desired state: apply, scale, stop, start, zone; and token, shutdown.</summary>
internal static class ChangeCommands
{
    /// <summary>The revision an apply is based on: the latest, or 0 for an environment the server does not run yet (its first apply starts it).</summary>
    private static async Task<long> LatestRevisionAsync(ApiClient client, CancellationToken ct)
    {
        try
        {
            return (await client.GetAsync<SystemView>("v1/status", ct)).Revision;
        }
        catch (ApiException e) when (e.Status == System.Net.HttpStatusCode.NotFound)
        {
            // An environment over clusters has its own revisions; any other one not run yet is at 0.
            return await ClusterCommands.FederationAsync(client, ct) is { } federation ? federation.Revision : 0;
        }
    }

    public static IEnumerable<Command> Create()
    {
        var file = new Option<string>("--file", "-f") { Description = "The spec file, or the directory holding flotilla.yaml", DefaultValueFactory = _ => "." };
        var basedOn = new Option<long?>("--based-on") { Description = "Refuse unless this is still the latest revision (default: the latest when the command starts)" };
        var wait = new Option<bool>("--wait") { Description = "Wait until every instance runs the new revision and is ready (exit 1: a release was aborted, 3: a release waits for promote)" };
        var revision = new Option<long?>("--revision") { Description = "Apply an earlier revision again (its artifacts, config, endpoints and flags as they were; nothing is rebuilt) instead of a spec" };
        var apply = ApiCommand.Create("apply", "Make a spec the desired state, as a new audited revision (or, with --target kubernetes, apply it to a cluster)", async (parse, client, json, ct) =>
        {
            if (parse.GetValue(revision) is { } number)
            {
                var again = JsonSerializer.Deserialize<ApplyResponse>(await client.PostAsync($"v1/revisions/{number}/apply", null, ct), ApiJson.Options)!;
                Console.WriteLine(json ? JsonSerializer.Serialize(again, ApiJson.Options) : $"revision {again.Revision} applied: {again.Summary}");
                return parse.GetValue(wait) ? await WaitConvergedAsync(client, json, ct) : 0;
            }
            var path = Path.GetFullPath(parse.GetValue(file)!);
            var specFile = Directory.Exists(path) ? Path.Combine(path, SpecLoader.DefaultFileName) : path;
            if (!File.Exists(specFile))
            {
                Console.Error.WriteLine($"error: no spec at {specFile}");
                return 1;
            }
            var based = parse.GetValue(basedOn) ?? await LatestRevisionAsync(client, ct);
            var body = new ApplyBody(await File.ReadAllTextAsync(specFile, ct), specFile, parse.GetValue(ApiCommand.Environment), based, GitCommit.Of(specFile));
            var answer = await Spin("applying (building what changed)", () => client.PostAsync("v1/apply", body, ct));
            var result = JsonSerializer.Deserialize<ApplyResponse>(answer, ApiJson.Options)!;
            if (json)
            {
                Console.WriteLine(answer);
            }
            else
            {
                SpecErrorPrinter.PrintWarnings(result.Warnings);
                Console.WriteLine(result.Unchanged ? $"unchanged: revision {result.Revision} already is this spec" : $"revision {result.Revision} applied: {result.Summary}");
            }
            if (parse.GetValue(wait) && parse.GetValue(ApiCommand.Cluster) is null && await ClusterCommands.FederationAsync(client, ct) is not null)
            {
                return await ClusterCommands.WaitAsync(client, result.Revision, json, ct);
            }
            return parse.GetValue(wait) ? await WaitConvergedAsync(client, json, ct) : 0;
        }, file, basedOn, wait, revision);
        KubernetesApplyCommand.Extend(apply, file);
        yield return apply;

        var assignment = new Argument<string>("service=instances") { Description = "e.g. orders=5" };
        yield return ApiCommand.Create("scale", "Run a service with another instance count (until the next apply)", async (parse, client, _, ct) =>
        {
            var text = parse.GetValue(assignment)!;
            var at = text.IndexOf('=', StringComparison.Ordinal);
            if (at <= 0 || !int.TryParse(text[(at + 1)..], System.Globalization.CultureInfo.InvariantCulture, out var count))
            {
                Console.Error.WriteLine($"error: '{text}' is not service=instances, e.g. orders=5");
                return 2;
            }
            await client.PostAsync($"v1/services/{Uri.EscapeDataString(text[..at])}/scale", new ScaleBody(count), ct);
            Console.WriteLine($"{text[..at]} scaled to {count}");
            return 0;
        }, assignment);

        foreach (var (verb, description) in new[] { ("stop", "Stop every instance of a service, and keep it stopped until 'start'"), ("start", "Run a stopped service again") })
        {
            var service = new Argument<string>("service");
            yield return ApiCommand.Create(verb, description, async (parse, client, _, ct) =>
            {
                await client.PostAsync($"v1/services/{Uri.EscapeDataString(parse.GetValue(service)!)}/{verb}", null, ct);
                Console.WriteLine($"{parse.GetValue(service)} {(verb == "stop" ? "stopped" : "started")}");
                return 0;
            }, service);
        }

        var zoneState = new Argument<string>("down|up");
        zoneState.AcceptOnlyFromAmong("down", "up");
        var zone = new Argument<string>("zone");
        yield return ApiCommand.Create("zone", "Mark a failure domain down (its instances move) or up (the spread is restored)", async (parse, client, _, ct) =>
        {
            await client.PostAsync($"v1/zones/{Uri.EscapeDataString(parse.GetValue(zone)!)}/{parse.GetValue(zoneState)}", null, ct);
            Console.WriteLine($"zone {parse.GetValue(zone)} marked {parse.GetValue(zoneState)}");
            return 0;
        }, zoneState, zone);

        yield return TenantCommands.Token();
        yield return TenantCommands.Tenant();

        yield return ApiCommand.Create("reload-router", "Replace the router's process by one of the Flotilla program on disk now, without dropping a request", async (parse, client, json, ct) =>
        {
            var answer = await client.PostAsync("v1/router/reload", new { }, ct);
            var reload = JsonSerializer.Deserialize<Flotilla.Api.RouterReload>(answer, ApiJson.Options)!;
            Console.WriteLine(json ? answer : $"router worker {reload.OldPid} finished its requests; worker {reload.NewPid} serves");
            return 0;
        });

        var stopAll = new Option<bool>("--stop-all") { Description = "Also drain and stop every instance and the router (default: they keep serving)" };
        yield return ApiCommand.Create("shutdown", "Stop the server", async (parse, client, _, ct) =>
        {
            await client.PostAsync("v1/shutdown", new ShutdownBody(parse.GetValue(stopAll)), ct);
            Console.WriteLine(parse.GetValue(stopAll) ? "the server is stopping everything" : "the server is stopping; the data plane keeps serving");
            return 0;
        }, stopAll);
    }

    private static async Task<T> Spin<T>(string what, Func<Task<T>> work) =>
        Console.IsOutputRedirected ? await work() : await AnsiConsole.Status().StartAsync(what, _ => work());

    /// <summary>
    /// A release that was aborted (exit 1) or that waits for a person (exit 3) will not converge by
    /// waiting: the exit code and what to say, decided by the conditions' types; null while waiting helps.
    /// </summary>
    internal static (int Code, string Line)? NotConverging(IEnumerable<ServiceDrift> drift) =>
        drift.SelectMany(d => d.Conditions).FirstOrDefault(c => c.Type is ConditionType.Degraded or ConditionType.Paused) switch
        {
            { Type: ConditionType.Degraded } degraded => (1, $"error: {degraded.Text()}"),
            { } paused => (3, $"not waiting longer: {paused.Text()}; flotilla rollout promote or abort"),
            null => null,
        };

    private static async Task<int> WaitConvergedAsync(ApiClient client, bool json, CancellationToken ct)
    {
        var deadline = DateTime.UtcNow + TimeSpan.FromMinutes(10);
        var last = "";
        while (true)
        {
            var drift = await client.GetAsync<List<ServiceDrift>>("v1/diff", ct);
            if (drift.All(d => d.InSync))
            {
                if (!json)
                {
                    Console.WriteLine($"converged: {drift.Sum(d => d.Ready)} instances ready");
                }
                return 0;
            }
            var now = string.Join("; ", drift.Where(d => !d.InSync).Select(d => $"{d.Service}: {string.Join(", ", d.Differences)}"));
            if (now != last && !json)
            {
                Console.WriteLine($"waiting: {now}");
                last = now;
            }
            if (NotConverging(drift) is var (code, line))
            {
                Console.Error.WriteLine(line);
                return code;
            }
            if (DateTime.UtcNow > deadline)
            {
                Console.Error.WriteLine($"error: not converged after 10 minutes: {now}");
                return 1;
            }
            await Task.Delay(250, ct);
        }
    }
}
