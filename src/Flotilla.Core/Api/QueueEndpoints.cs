using Flotilla.Controllers.Queues;
using Flotilla.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Flotilla.Api;

/// <summary>The routes of /v1/queues: push a message, the queues' counts, the dead messages and their retry.</summary>
internal static class QueueEndpoints
{
    private const int MaxBodyBytes = 1 << 20;
    private const int MaxKeyLength = 256;

    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapGet("/queues", (ControlPlane plane) =>
        {
            var counts = plane.Store.QueueCounts(DateTimeOffset.UtcNow).ToDictionary(c => c.Queue, StringComparer.Ordinal);
            var queues = plane.Queues.Queues();
            var names = queues.Keys.Concat(counts.Keys).Distinct(StringComparer.Ordinal).Order(StringComparer.Ordinal);
            return Results.Json(names.Select(q => new QueueView(q, queues.GetValueOrDefault(q), counts.GetValueOrDefault(q)?.Waiting ?? 0,
                counts.GetValueOrDefault(q)?.Leased ?? 0, counts.GetValueOrDefault(q)?.Dead ?? 0)), ApiJson.Options);
        }).WithSummary("Every queue: the function it triggers, messages waiting, in delivery and dead.");
        v1.MapPost("/queues/{queue}/messages", async (string queue, string? key, HttpContext context, ControlPlane plane) =>
        {
            key ??= context.Request.Headers["X-Flotilla-Key"].FirstOrDefault();
            if (key is { Length: 0 or > MaxKeyLength })
            {
                return ApiErrors.Result(StatusCodes.Status400BadRequest, $"an ordering key is 1 to {MaxKeyLength} characters, got {key.Length}", "give a short key, such as the aggregate's id, or none for no order");
            }
            using var body = new MemoryStream();
            await context.Request.Body.CopyToAsync(body, context.RequestAborted);
            if (body.Length > MaxBodyBytes)
            {
                return ApiErrors.Result(StatusCodes.Status413PayloadTooLarge, $"a message is at most {MaxBodyBytes / 1024} KiB; store big payloads elsewhere and queue their address");
            }
            try
            {
                var id = plane.Queues.Push(queue, body.ToArray(), context.Request.ContentType, key);
                return Results.Json(new PushedMessage(queue, id), ApiJson.Options, statusCode: StatusCodes.Status201Created);
            }
            catch (UnknownQueueException e)
            {
                return ApiErrors.Result(StatusCodes.Status404NotFound, e.Message);
            }
        }).WithSummary("Queues the request body as one message (durable when answered 201); delivered at least once to the function the queue triggers. With ?key= (or X-Flotilla-Key), messages of one key are delivered one at a time, in order.");
        v1.MapGet("/queues/{queue}/dead", (string queue, int? limit, ControlPlane plane) =>
            Results.Json(plane.Store.DeadMessages(queue, Math.Clamp(limit ?? 100, 1, 10_000)).Select(m => new DeadMessage(m.Id, m.Attempts, m.LastError, m.CreatedAt, Preview(m.Body))), ApiJson.Options))
            .WithSummary("Messages given up on after their last attempt, with the reason.");
        v1.MapPost("/queues/{queue}/retry", (string queue, long? id, ControlPlane plane) =>
        {
            var retried = plane.Store.RetryDead(queue, id, DateTimeOffset.UtcNow);
            plane.Queues.Wake();
            return retried == 0 && id is not null
                ? ApiErrors.Result(StatusCodes.Status404NotFound, $"queue '{queue}' has no dead message {id}", $"list them with 'flotilla queue dead {queue}'")
                : Results.Json(new RetriedMessages(queue, retried), ApiJson.Options);
        }).WithSummary("Dead messages (?id= one, else all of the queue) are delivered again, their attempts counted from zero.");
    }

    private static string Preview(byte[] body)
    {
        var text = System.Text.Encoding.UTF8.GetString(body, 0, Math.Min(body.Length, 200));
        return body.Length > 200 ? text + "…" : text;
    }
}

public sealed record QueueView(string Queue, string? Function, long Waiting, long InDelivery, long Dead);

public sealed record PushedMessage(string Queue, long Id);

public sealed record DeadMessage(long Id, int Attempts, string? Error, DateTimeOffset CreatedAt, string Body);

public sealed record RetriedMessages(string Queue, int Retried);
