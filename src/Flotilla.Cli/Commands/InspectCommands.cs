using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Flotilla.Api;
using Flotilla.Cli.Client;
using Flotilla.Cli.Output;
using Flotilla.Events;
using Flotilla.Hosting;
using Flotilla.Runtime;
using Spectre.Console;

namespace Flotilla.Cli.Commands;

/// <summary>The read-only verbs: status, ps, diff, history, events, logs.</summary>
internal static class InspectCommands
{
    public static IEnumerable<Command> Create()
    {
        var watch = new Option<bool>("--watch", "-w") { Description = "Keep the table live until Ctrl+C" };
        yield return ApiCommand.Create("status", "Services, instances and zones of the system on the server", async (parse, client, json, ct) =>
        {
            if (json)
            {
                Console.WriteLine(await client.GetRawAsync("v1/status", ct));
                return 0;
            }
            var status = await client.GetAsync<SystemView>("v1/status", ct);
            if (!parse.GetValue(watch))
            {
                AnsiConsole.Write(StatusView.Render(status, [], $"revision {status.Revision}"));
                return 0;
            }
            await AnsiConsole.Live(StatusView.Render(status, [], "")).StartAsync(async live =>
            {
                while (!ct.IsCancellationRequested)
                {
                    status = await client.GetAsync<SystemView>("v1/status", ct);
                    live.UpdateTarget(StatusView.Render(status, [], $"revision {status.Revision}  ·  Ctrl+C to quit"));
                    await Task.Delay(500, ct);
                }
            });
            return 0;
        }, watch);

        yield return ApiCommand.Create("ps", "Every instance: service, zone, state, pid, port, revision, age", async (_, client, json, ct) =>
        {
            if (json)
            {
                Console.WriteLine(await client.GetRawAsync("v1/instances", ct));
                return 0;
            }
            var instances = await client.GetAsync<List<InstanceView>>("v1/instances", ct);
            var table = Tables.Create("instance", "service", "zone", "state", "pid", "port", "revision", "age", "reason");
            foreach (var i in instances)
            {
                table.AddRow(Tables.Cells(i.Id, i.Service, i.Zone ?? "-", i.State.ToString(), i.Pid.ToString(CultureInfo.InvariantCulture),
                    i.Port.ToString(CultureInfo.InvariantCulture), i.Revision, Tables.Age(i.StartedAt), i.Reason ?? ""));
            }
            AnsiConsole.Write(table);
            return 0;
        });

        yield return ApiCommand.Create("diff", "Desired state against what runs, per service (exit 2 when anything differs)", async (_, client, json, ct) =>
        {
            var drift = await client.GetAsync<List<ServiceDrift>>("v1/diff", ct);
            var flags = await client.GetAsync<List<FlagView>>("v1/flags/drift", ct);
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(new { services = drift, flags }, ApiJson.Options));
            }
            else
            {
                var table = Tables.Create("service", "revision", "desired", "running", "ready", "difference");
                foreach (var d in drift)
                {
                    table.AddRow(Tables.Cells(d.Service, d.Revision ?? "-", $"{d.Desired}", $"{d.Running}", $"{d.Ready}", string.Join("; ", (d.InSync ? ["in sync"] : d.Differences).Append(d.Note).OfType<string>())));
                }
                AnsiConsole.Write(table);
                if (flags.Count > 0)
                {
                    // A flag changed at runtime serves other than the spec (git) says: drift, until reset or the spec changes it.
                    var changed = Tables.Create("flag", "changed by", "when", "differs from the spec");
                    foreach (var f in flags)
                    {
                        changed.AddRow(Tables.Cells(f.Key, f.ChangedBy ?? "-", f.ChangedAt is { } at ? Tables.When(at) : "-", f.Drift ?? ""));
                    }
                    AnsiConsole.Write(changed);
                }
            }
            return drift.All(d => d.InSync) && flags.Count == 0 ? 0 : 2;
        });

        var limit = new Option<int>("--limit") { Description = "How many, newest first", DefaultValueFactory = _ => 20 };
        var audit = new Option<bool>("--audit") { Description = "Every audited change (scale, stop, zone, token), not only revisions" };
        yield return ApiCommand.Create("history", "Applied revisions with who, when, what and the git commit", async (parse, client, json, ct) =>
        {
            var path = parse.GetValue(audit) ? $"v1/audit?limit={parse.GetValue(limit)}" : $"v1/revisions?limit={parse.GetValue(limit)}";
            if (json)
            {
                Console.WriteLine(await client.GetRawAsync(path, ct));
                return 0;
            }
            if (parse.GetValue(audit))
            {
                var table = Tables.Create("#", "when", "who", "action", "what", "revision", "commit");
                foreach (var a in await client.GetAsync<List<Store.AuditRecord>>(path, ct))
                {
                    table.AddRow(Tables.Cells($"{a.Id}", Tables.When(a.At), a.Actor, a.Action, a.Detail, a.Revision?.ToString(CultureInfo.InvariantCulture) ?? "", Tables.Commit(a.GitCommit)));
                }
                AnsiConsole.Write(table);
                return 0;
            }
            var revisions = Tables.Create("revision", "when", "who", "env", "commit", "what changed");
            foreach (var r in await client.GetAsync<List<RevisionSummary>>(path, ct))
            {
                revisions.AddRow(Tables.Cells($"{r.Number}", Tables.When(r.CreatedAt), r.Actor, r.Environment ?? "-", Tables.Commit(r.GitCommit), r.Summary));
            }
            AnsiConsole.Write(revisions);
            return 0;
        }, limit, audit);

        yield return ApiCommand.Create("metrics", "The router's request counts and latency histograms per service and revision (Prometheus text)", async (_, client, _, ct) =>
        {
            Console.Write(await client.GetRawAsync("v1/metrics", ct));
            return 0;
        });

        var follow = new Option<bool>("--follow", "-f") { Description = "Keep printing new ones until Ctrl+C" };
        var since = new Option<long>("--since") { Description = "Only events after this sequence number" };
        yield return ApiCommand.Create("events", "What the control plane did and saw (starts, exits, failures, applies)", async (parse, client, json, ct) =>
        {
            var query = $"v1/events?since={parse.GetValue(since)}&limit={(parse.GetValue(follow) ? 20 : 200)}";
            if (!parse.GetValue(follow))
            {
                var events = await client.GetAsync<List<SystemEvent>>(query, ct);
                foreach (var e in events)
                {
                    Console.WriteLine(json ? JsonSerializer.Serialize(e, ApiJson.Options) : Format(e));
                }
                return 0;
            }
            using var response = await client.StreamAsync(query + "&follow=true", ct);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                if (line.StartsWith("data: ", StringComparison.Ordinal))
                {
                    var e = JsonSerializer.Deserialize<SystemEvent>(line[6..], ApiJson.Options)!;
                    Console.WriteLine(json ? line[6..] : Format(e));
                }
            }
            return 0;
        }, follow, since);

        var service = new Argument<string>("service") { Description = "The service whose instance logs to show" };
        var instance = new Option<string?>("--instance") { Description = "One instance (also an exited one) instead of all running ones" };
        var tail = new Option<int>("--tail") { Description = "Lines from the end of each log", DefaultValueFactory = _ => 100 };
        var followLogs = new Option<bool>("--follow", "-f") { Description = "Keep printing new lines until Ctrl+C" };
        yield return ApiCommand.Create("logs", "The output of a service's instances", async (parse, client, _, ct) =>
        {
            var query = $"v1/services/{Uri.EscapeDataString(parse.GetValue(service)!)}/logs?tail={parse.GetValue(tail)}&follow={(parse.GetValue(followLogs) ? "true" : "false")}";
            if (parse.GetValue(instance) is { } id)
            {
                query += $"&instance={Uri.EscapeDataString(id)}";
            }
            using var response = await client.StreamAsync(query, ct);
            using var reader = new StreamReader(await response.Content.ReadAsStreamAsync(ct));
            while (await reader.ReadLineAsync(ct) is { } line)
            {
                Console.WriteLine(line);
            }
            return 0;
        }, service, instance, tail, followLogs);
    }

    private static string Format(SystemEvent e) =>
        $"{e.At.ToLocalTime():yyyy-MM-dd HH:mm:ss.fff} #{e.Sequence} {(e.Warning ? "WARN " : "")}{e.Subject}: {e.Message}";
}
