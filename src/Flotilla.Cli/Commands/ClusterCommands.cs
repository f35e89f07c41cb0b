using System.CommandLine;
using Flotilla.Cli.Client;
using Flotilla.Cli.Output;
using Flotilla.Federation;
using Spectre.Console;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla clusters</c>: an environment over several clusters, one row per cluster; and waiting for a federated apply.</summary>
internal static class ClusterCommands
{
    public static Command Create() =>
        ApiCommand.Create("clusters", "An environment over clusters: each cluster's target, revision, reachability, release and services ready", async (_, client, json, ct) =>
        {
            if (json)
            {
                Console.WriteLine(await client.GetRawAsync("v1/clusters", ct));
                return 0;
            }
            Print(await client.GetAsync<FederationStatus>("v1/clusters", ct));
            return 0;
        });

    private static void Print(FederationStatus status)
    {
        Console.WriteLine($"revision {status.Revision} by {status.Actor}, {(status.Ordered ? "released cluster by cluster (the first is the canary)" : "released to all clusters at once")}");
        var table = Tables.Create("cluster", "kind", "endpoint", "revision", "reachable", "health", "ready", "next");
        foreach (var c in status.Clusters)
        {
            table.AddRow(Tables.Cells(c.Name, c.Kind, c.Endpoint ?? "-", c.Revision == 0 ? "-" : $"{c.Revision} (its {c.ClusterRevision})",
                c.Reachable switch { true => "yes", false => "NO", null => "?" }, c.Health, $"{c.Ready}/{c.Desired}", $"{c.Next}: {c.Reason}"));
        }
        AnsiConsole.Write(table);
        foreach (var c in status.Clusters)
        {
            foreach (var condition in c.Conditions.Where(x => x.Type is not Conditions.ConditionType.Progressing))
            {
                Console.WriteLine($"{c.Name}: {condition.Type} ({condition.Reason}): {condition.Message}");
            }
        }
    }

    /// <summary>The environment's federation, or null when it runs over no clusters.</summary>
    public static async Task<FederationStatus?> FederationAsync(ApiClient client, CancellationToken ct)
    {
        try
        {
            return await client.GetAsync<FederationStatus>("v1/clusters", ct);
        }
        catch (ApiException e) when (e.Status == System.Net.HttpStatusCode.NotFound)
        {
            return null;
        }
    }

    /// <summary>
    /// Waits until every cluster runs <paramref name="revision"/> ready (0), or a cluster's release failed or was
    /// halted (1). An unreachable cluster is waited for: it is retried, and the wait says so.
    /// </summary>
    public static async Task<int> WaitAsync(ApiClient client, long revision, bool json, CancellationToken ct)
    {
        var said = "";
        while (true)
        {
            var status = await client.GetAsync<FederationStatus>("v1/clusters", ct);
            var line = string.Join("; ", status.Clusters.Select(c => $"{c.Name}: {c.Health} {c.Ready}/{c.Desired}{(c.Reachable == false ? " (unreachable)" : "")} {c.Next}"));
            if (line != said && !json)
            {
                Console.WriteLine(line);
                said = line;
            }
            if (status.Revision != revision)
            {
                Console.Error.WriteLine($"error: revision {status.Revision} was applied meanwhile");
                return 1;
            }
            if (status.AllHealthy)
            {
                return 0;
            }
            if (status.Clusters.FirstOrDefault(c => c.Conditions.Any(x => x.Type == Conditions.ConditionType.Degraded)) is { } failed)
            {
                Console.Error.WriteLine($"error: cluster '{failed.Name}': {failed.Reason}");
                return 1;
            }
            await Task.Delay(500, ct);
        }
    }
}
