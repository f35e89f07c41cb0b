using System.CommandLine;
using System.Text.Json;
using Flotilla.Api;
using Flotilla.Cli.Output;
using Spectre.Console;

namespace Flotilla.Cli.Commands;

/// <summary><c>flotilla queue push|ls|dead|retry</c>: the durable queues that trigger functions.</summary>
internal static class QueueCommand
{
    public static Command Create()
    {
        var command = new Command("queue", "The queues that trigger functions: push a message, list queues, see and retry dead messages");
        var queue = new Argument<string>("queue") { Description = "The queue's name (a function declares 'trigger: { queue: NAME }')" };
        var message = new Argument<string?>("message") { Description = "The message's text (or --file, or '-' for stdin)", Arity = ArgumentArity.ZeroOrOne };
        var file = new Option<string?>("--file", "-f") { Description = "Send this file's bytes as the message" };
        var key = new Option<string?>("--key") { Description = "An ordering key: messages with the same key are delivered one at a time, in the order pushed" };
        var contentType = new Option<string>("--content-type") { Description = "The message's content type, as the function receives it", DefaultValueFactory = _ => "text/plain; charset=utf-8" };
        command.Subcommands.Add(ApiCommand.Create("push", "Queue one message; durable once this answers (delivered at least once)", async (parse, client, json, ct) =>
        {
            var text = parse.GetValue(message);
            byte[] body = parse.GetValue(file) is { } path ? await File.ReadAllBytesAsync(path, ct)
                : text == "-" ? await ReadStdinAsync(ct)
                : text is not null ? System.Text.Encoding.UTF8.GetBytes(text)
                : throw new Client.ApiException("give the message as an argument, '-' for stdin, or --file PATH");
            var query = parse.GetValue(key) is { } k ? $"?key={Uri.EscapeDataString(k)}" : "";
            var answer = await client.PostBytesAsync($"v1/queues/{Uri.EscapeDataString(parse.GetValue(queue)!)}/messages{query}", body, parse.GetValue(contentType)!, ct);
            var pushed = JsonSerializer.Deserialize<PushedMessage>(answer, ApiJson.Options)!;
            Console.WriteLine(json ? answer : $"queued message {pushed.Id} on {pushed.Queue}");
            return 0;
        }, queue, message, file, key, contentType));

        command.Subcommands.Add(ApiCommand.Create("ls", "Every queue: the function it triggers, messages waiting, in delivery and dead", async (_, client, json, ct) =>
        {
            if (json)
            {
                Console.WriteLine(await client.GetRawAsync("v1/queues", ct));
                return 0;
            }
            var queues = await client.GetAsync<List<QueueView>>("v1/queues", ct);
            var table = Tables.Create("queue", "function", "waiting", "in delivery", "dead");
            foreach (var q in queues)
            {
                table.AddRow(Tables.Cells(q.Queue, q.Function ?? "(none: declare one)", $"{q.Waiting}", $"{q.InDelivery}", $"{q.Dead}"));
            }
            AnsiConsole.Write(table);
            return 0;
        }));

        command.Subcommands.Add(ApiCommand.Create("dead", "Messages given up on after their last attempt, with the reason", async (parse, client, json, ct) =>
        {
            var path = $"v1/queues/{Uri.EscapeDataString(parse.GetValue(queue)!)}/dead";
            if (json)
            {
                Console.WriteLine(await client.GetRawAsync(path, ct));
                return 0;
            }
            var dead = await client.GetAsync<List<DeadMessage>>(path, ct);
            var table = Tables.Create("id", "attempts", "queued", "last error", "body");
            foreach (var d in dead)
            {
                table.AddRow(Tables.Cells($"{d.Id}", $"{d.Attempts}", Tables.When(d.CreatedAt), d.Error ?? "", d.Body));
            }
            AnsiConsole.Write(table);
            return 0;
        }, queue));

        var id = new Option<long?>("--id") { Description = "Only this message (default: every dead message of the queue)" };
        command.Subcommands.Add(ApiCommand.Create("retry", "Deliver dead messages again, their attempts counted from zero", async (parse, client, json, ct) =>
        {
            var query = parse.GetValue(id) is { } one ? $"?id={one}" : "";
            var answer = await client.PostAsync($"v1/queues/{Uri.EscapeDataString(parse.GetValue(queue)!)}/retry{query}", null, ct);
            var retried = JsonSerializer.Deserialize<RetriedMessages>(answer, ApiJson.Options)!;
            Console.WriteLine(json ? answer : $"{retried.Retried} message{(retried.Retried == 1 ? "" : "s")} of {retried.Queue} queued again");
            return 0;
        }, queue, id));
        return command;
    }

    private static async Task<byte[]> ReadStdinAsync(CancellationToken cancellationToken)
    {
        using var buffer = new MemoryStream();
        await Console.OpenStandardInput().CopyToAsync(buffer, cancellationToken);
        return buffer.ToArray();
    }
}
