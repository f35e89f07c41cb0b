using System.CommandLine;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Api;
using Flotilla.Cli.Client;
using Flotilla.Cli.Output;
using Flotilla.Flags;
using Flotilla.Flags.Ofrep;
using Flotilla.Hosting;
using Spectre.Console;

namespace Flotilla.Cli.Commands;

/// <summary>
/// <c>flotilla flags list|get|set|enable|disable|reset|eval</c>: the flags a server serves, changed
/// live (audited, shown as drift until reset), and evaluated as an OpenFeature SDK would see them.
/// The common <c>--env</c> picks the environment whose flags they are.
/// </summary>
internal static class FlagsCommand
{
    private static readonly JsonSerializerOptions Indented = new(ApiJson.Options) { WriteIndented = true };

    public static Command Create()
    {
        var command = new Command("flags", "Feature flags: list, get, set, enable, disable, reset, eval (served over OFREP to every instance)");
        var flag = new Argument<string>("flag");

        command.Subcommands.Add(ApiCommand.Create("list", "Every flag: state, default, variants, and runtime changes (drift from the spec)", async (parse, client, json, ct) =>
        {
            var list = await client.GetAsync<FlagList>("v1/flags", ct);
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(list, Indented));
                return 0;
            }
            Console.WriteLine($"flags served at {list.Url ?? "(none)"}{(list.Environment is null ? "" : $" (environment {list.Environment})")}");
            var table = Tables.Create("flag", "state", "default", "variants", "targeting", "source");
            foreach (var f in list.Flags)
            {
                table.AddRow(Tables.Cells(f.Key, f.State, f.DefaultVariant ?? "(code default)", string.Join(", ", f.Variants), f.Targeting ? "yes" : "no", Source(f)));
            }
            AnsiConsole.Write(table);
            return 0;
        }));

        command.Subcommands.Add(ApiCommand.Create("get", "One flag's whole definition, and how it differs from the spec", async (parse, client, json, ct) =>
        {
            var view = await client.GetAsync<FlagView>(FlagPath(parse.GetValue(flag)!), ct);
            if (json)
            {
                Console.WriteLine(JsonSerializer.Serialize(view, Indented));
                return 0;
            }
            Console.WriteLine($"{view.Key}: {view.State}, {Source(view)}");
            Console.WriteLine(view.Definition.ToJsonString(Indented));
            return 0;
        }, flag));

        var state = new Option<string?>("--state") { Description = "ENABLED or DISABLED" };
        var defaultVariant = new Option<string?>("--default") { Description = "The default variant (served when no rule matches)" };
        var targeting = new Option<string?>("--targeting") { Description = "The JSON Logic rule, as JSON or @file; {} or none: no rule" };
        var variants = new Option<string?>("--variants") { Description = "The variants, as a JSON object: {\"on\": true, \"off\": false}" };
        command.Subcommands.Add(ApiCommand.Create("set", "Change a flag live: --state, --default, --targeting, --variants (audited; drift until reset)", async (parse, client, json, ct) =>
        {
            var patch = new JsonObject();
            if (parse.GetValue(state) is { } s)
            {
                patch["state"] = s.ToUpperInvariant();
            }
            if (parse.GetValue(defaultVariant) is { } d)
            {
                patch["defaultVariant"] = d;
            }
            if (parse.GetValue(targeting) is { } t)
            {
                var text = t.StartsWith('@') ? await File.ReadAllTextAsync(t[1..], ct) : t;
                patch["targeting"] = text.Trim() is "" or "none" or "{}" ? null : ParseJson(text, "--targeting");
            }
            if (parse.GetValue(variants) is { } v)
            {
                patch["variants"] = ParseJson(v, "--variants");
            }
            if (patch.Count == 0)
            {
                throw new ApiException("nothing to change: give --state, --default, --targeting or --variants");
            }
            return await ChangeAsync(parse, client, flag, patch, json, ct);
        }, flag, state, defaultVariant, targeting, variants));

        foreach (var (verb, value) in new[] { ("enable", "ENABLED"), ("disable", "DISABLED") })
        {
            command.Subcommands.Add(ApiCommand.Create(verb, $"Set a flag's state to {value}, live", (parse, client, json, ct) =>
                ChangeAsync(parse, client, flag, new JsonObject { ["state"] = value }, json, ct), flag));
        }

        command.Subcommands.Add(ApiCommand.Create("reset", "Drop a flag's runtime change: it serves as the spec says again", async (parse, client, json, ct) =>
        {
            var view = await client.DeleteAsync<FlagView>($"{FlagPath(parse.GetValue(flag)!)}/change", ct);
            Print(view, json);
            return 0;
        }, flag));

        command.Subcommands.Add(Eval(flag));
        return command;
    }

    private static Command Eval(Argument<string> flag)
    {
        var context = new Option<string>("--context", "-c") { Description = "The evaluation context as JSON: {\"targetingKey\": \"u1\", \"country\": \"NL\"}", DefaultValueFactory = _ => "{}" };
        var type = new Option<string?>("--type") { Description = "The type the caller asks for (boolean, string, number, object): another is TYPE_MISMATCH, as an SDK reports it" };
        type.AcceptOnlyFromAmong("boolean", "string", "number", "object");
        var spec = new Option<string?>("--file", "-f") { Description = "Evaluate with this spec's flags (directory or flotilla.yaml) instead of asking a server" };
        Func<ParseResult, ApiClient, bool, CancellationToken, Task<int>> remote = async (parse, client, _, ct) =>
        {
            var (status, body) = await client.GetAnswerAsync($"{FlagPath(parse.GetValue(flag)!)}/evaluate?context={Uri.EscapeDataString(parse.GetValue(context)!)}", ct);
            return Show(status, body, parse.GetValue(type));
        };
        var command = ApiCommand.Create("eval", "Evaluate a flag for a context, as OFREP answers it (exit 1 on an error)", remote, flag, context, type, spec);
        // With -f the spec's own flags answer, and no server is asked.
        command.SetAction((parse, ct) => parse.GetValue(spec) is { } path
            ? Task.FromResult(EvaluateLocally(path, parse.GetValue(ApiCommand.Environment), parse.GetValue(flag)!, parse.GetValue(context)!, parse.GetValue(type)))
            : ApiCommand.RunAsync(parse, remote, ct));
        return command;
    }

    /// <summary>With -f: the spec's flags for that environment, compiled here; no server needed (to try a rule before applying it).</summary>
    private static int EvaluateLocally(string path, string? environment, string key, string contextJson, string? type)
    {
        if (SpecErrorPrinter.TryLoad(path, environment) is not { } spec)
        {
            return 1;
        }
        var flags = spec.Flags is null ? FlagSet.Empty : FlagDocument.CompileServed(spec.Flags.Document);
        var output = new System.Buffers.ArrayBufferWriter<byte>();
        using var parsed = JsonDocument.Parse(contextJson);
        if (!EvaluationContext.TryFrom(parsed.RootElement, out var context, out var error))
        {
            OfrepResponses.WriteFailure(output, key, FlagErrors.InvalidContext, error);
            return Show(400, System.Text.Encoding.UTF8.GetString(output.WrittenSpan), type);
        }
        var result = flags.Evaluate(key, context);
        OfrepResponses.WriteSingle(output, result);
        return Show(OfrepResponses.StatusOf(result), System.Text.Encoding.UTF8.GetString(output.WrittenSpan), type);
    }

    /// <summary>Prints an OFREP answer; a value of another type than asked for is TYPE_MISMATCH, as the SDK would report it.</summary>
    private static int Show(int status, string body, string? type)
    {
        var answer = JsonNode.Parse(body)!.AsObject();
        if (type is not null && answer["value"] is { } value && KindOf(value) != type)
        {
            answer = new JsonObject
            {
                ["key"] = answer["key"]?.DeepClone(),
                ["errorCode"] = FlagErrors.TypeMismatch,
                ["errorDetails"] = $"the flag's value is a {KindOf(value)}, not a {type}",
            };
            status = 400;
        }
        Console.WriteLine(answer.ToJsonString(Indented));
        return status == 200 && answer["errorCode"] is null ? 0 : 1;
    }

    private static string KindOf(JsonNode value) => value.GetValueKind() switch
    {
        JsonValueKind.True or JsonValueKind.False => "boolean",
        JsonValueKind.String => "string",
        JsonValueKind.Number => "number",
        JsonValueKind.Object => "object",
        _ => "other",
    };

    private static async Task<int> ChangeAsync(ParseResult parse, ApiClient client, Argument<string> flag, JsonObject patch, bool json, CancellationToken ct)
    {
        Print(await client.PatchAsync<FlagView>(FlagPath(parse.GetValue(flag)!), patch, ct), json);
        return 0;
    }

    private static void Print(FlagView view, bool json) =>
        Console.WriteLine(json ? JsonSerializer.Serialize(view, Indented) : $"{view.Key}: {view.State}, default {view.DefaultVariant ?? "(code default)"}, {Source(view)}");

    private static string Source(FlagView view) => view.Source == "spec"
        ? "as the spec says"
        : $"changed at runtime by {view.ChangedBy} at {(view.ChangedAt is { } at ? Tables.When(at) : "?")}: {view.Drift}";

    private static string FlagPath(string key) => $"v1/flags/{Uri.EscapeDataString(key)}";

    private static JsonNode ParseJson(string text, string option)
    {
        try
        {
            return JsonNode.Parse(text) ?? throw new ApiException($"{option}: null is not a value here");
        }
        catch (JsonException e)
        {
            throw new ApiException($"{option} is not valid JSON: {e.Message.Split(" LineNumber:")[0]}");
        }
    }
}
