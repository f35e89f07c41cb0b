using System.CommandLine;
using System.Globalization;
using System.Text.Json;
using Flotilla.Api;
using Flotilla.Cli.Client;
using Flotilla.Cli.Output;
using Flotilla.Model;
using Flotilla.Store;
using Flotilla.Tenancy;
using Spectre.Console;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla tenant create|ls|quota|audit</c> and <c>flotilla token create|ls|revoke</c>: who shares the server, and with which keys.</summary>
internal static class TenantCommands
{
    public static Command Token()
    {
        var command = new Command("token", "API tokens: create one (printed once; only its hash is stored), list them, revoke one");
        var name = new Argument<string>("name");
        var role = new Option<string>("--role") { Description = "viewer (may look), deployer (may change what runs), admin (also tokens and secrets), operator (the whole server)", DefaultValueFactory = _ => TenantRoles.Viewer };
        role.AcceptOnlyFromAmong([.. TenantRoles.All]);
        command.Subcommands.Add(ApiCommand.Create("create", "Create a token of --tenant (a server-wide one without it, operator only) with --role; prints its secret once", async (parse, client, json, ct) =>
        {
            var answer = await client.PostAsync("v1/tokens", new TokenBody(parse.GetValue(name), parse.GetValue(role), client.Tenant), ct);
            Console.WriteLine(json ? answer : JsonSerializer.Deserialize<TokenResponse>(answer, ApiJson.Options)!.Token);
            return 0;
        }, name, role));
        command.Subcommands.Add(ApiCommand.Create("ls", "The tokens the caller may see: name, role, tenant (never secrets)", async (_, client, json, ct) =>
        {
            if (json)
            {
                Console.WriteLine(await client.GetRawAsync("v1/tokens", ct));
                return 0;
            }
            var table = Tables.Create("name", "role", "tenant", "created");
            foreach (var t in await client.GetAsync<List<TokenRecord>>("v1/tokens", ct))
            {
                table.AddRow(Tables.Cells(t.Name, t.Role, t.Tenant ?? "(server-wide)", t.CreatedAt.ToString("u", CultureInfo.InvariantCulture)));
            }
            AnsiConsole.Write(table);
            return 0;
        }));
        var revoked = new Argument<string>("name");
        command.Subcommands.Add(ApiCommand.Create("revoke", "Revoke a token of --tenant (a server-wide one without it): it stops working at once", async (parse, client, _, ct) =>
        {
            await client.DeleteAsync($"v1/tokens/{Uri.EscapeDataString(parse.GetValue(revoked)!)}", ct);
            Console.WriteLine($"token '{parse.GetValue(revoked)}' revoked");
            return 0;
        }, revoked));
        return command;
    }

    public static Command Tenant()
    {
        var command = new Command("tenant", "Tenants: teams that share the server, each with its own environments, tokens, quota and audit");
        var name = new Argument<string>("name");
        command.Subcommands.Add(ApiCommand.Create("create", "Create a tenant (operator); then make its tokens with 'flotilla token create NAME --tenant TENANT --role admin'", async (parse, client, json, ct) =>
        {
            var answer = await client.PostAsync("v1/tenants", new TenantBody(parse.GetValue(name)), ct);
            Console.WriteLine(json ? answer : $"tenant '{parse.GetValue(name)}' created");
            return 0;
        }, name));
        command.Subcommands.Add(ApiCommand.Create("ls", "The tenants the caller may see, with their environments and quota", async (_, client, json, ct) =>
        {
            if (json)
            {
                Console.WriteLine(await client.GetRawAsync("v1/tenants", ct));
                return 0;
            }
            var table = Tables.Create("tenant", "environments", "quota");
            foreach (var t in await client.GetAsync<List<TenantView>>("v1/tenants", ct))
            {
                table.AddRow(Tables.Cells(t.Name, t.Environments.Count == 0 ? "-" : string.Join(", ", t.Environments), t.Quota is { } q ? Describe(q) : "none"));
            }
            AnsiConsole.Write(table);
            return 0;
        }));
        var quotaOf = new Argument<string>("name");
        var instances = new Option<int?>("--instances") { Description = "Instances of services at most (a rollout's surge counts)" };
        var cpu = new Option<string?>("--cpu") { Description = "CPU cores the instances declare, summed, at most (e.g. 4 or 500m)" };
        var memory = new Option<string?>("--memory") { Description = "Memory the instances declare, summed, at most (e.g. 8Gi)" };
        var functions = new Option<int?>("--function-instances") { Description = "Functions' maximum instances, summed, at most" };
        command.Subcommands.Add(ApiCommand.Create("quota", "Set a tenant's quota (operator); a limit not given is no limit", async (parse, client, json, ct) =>
        {
            double? cores = null;
            long? bytes = null;
            if (parse.GetValue(cpu) is { } c)
            {
                cores = Quantities.TryParseCpu(c, out var parsed) ? parsed : throw new ApiException($"--cpu '{c}' is not a CPU quantity (e.g. 2, 0.5 or 500m)");
            }
            if (parse.GetValue(memory) is { } m)
            {
                bytes = Quantities.TryParseMemory(m, out var b) ? b : throw new ApiException($"--memory '{m}' is not a memory quantity (e.g. 512Mi or 8Gi)");
            }
            var quota = new TenantQuota(parse.GetValue(instances), cores, bytes, parse.GetValue(functions));
            var answer = await client.PutAsync($"v1/tenants/{Uri.EscapeDataString(parse.GetValue(quotaOf)!)}/quota", quota, ct);
            Console.WriteLine(json ? answer : $"tenant '{parse.GetValue(quotaOf)}' quota: {Describe(quota)}");
            return 0;
        }, quotaOf, instances, cpu, memory, functions));
        var auditOf = new Argument<string>("name");
        command.Subcommands.Add(ApiCommand.Create("audit", "Who changed what in any environment of a tenant, and its tokens and quota", async (parse, client, json, ct) =>
        {
            var path = $"v1/tenants/{Uri.EscapeDataString(parse.GetValue(auditOf)!)}/audit";
            if (json)
            {
                Console.WriteLine(await client.GetRawAsync(path, ct));
                return 0;
            }
            var table = Tables.Create("at", "environment", "actor", "action", "detail");
            foreach (var a in await client.GetAsync<List<AuditRecord>>(path, ct))
            {
                table.AddRow(Tables.Cells(a.At.ToString("u", CultureInfo.InvariantCulture), a.Environment ?? "-", a.Actor, a.Action, a.Detail));
            }
            AnsiConsole.Write(table);
            return 0;
        }, auditOf));
        return command;
    }

    private static string Describe(TenantQuota q) => string.Join(", ", new[]
    {
        q.Instances is { } i ? $"instances {i}" : null,
        q.Cpu is { } c ? $"cpu {c.ToString(CultureInfo.InvariantCulture)}" : null,
        q.MemoryBytes is { } m ? $"memory {m / (1024 * 1024)}Mi" : null,
        q.FunctionInstances is { } f ? $"function instances {f}" : null,
    }.Where(x => x is not null)) is { Length: > 0 } text ? text : "none";
}
