using System.Text.Json;
using Flotilla.Hosting;
using Microsoft.AspNetCore.Http;

namespace Flotilla.Api;

/// <summary>
/// GET /v1/status/stream: the current <see cref="LiveStatus"/> as a Server-Sent Event at once, then again
/// whenever it changes. It looks again when an event is recorded and at least every <see cref="Poll"/>
/// (a canary's live metrics change with traffic, not with events), and sends only what differs from what
/// it sent last, so an idle system costs a comparison a second per client.
/// </summary>
internal static class StatusStream
{
    public static readonly TimeSpan Poll = TimeSpan.FromSeconds(1);
    private static readonly TimeSpan KeepAlive = TimeSpan.FromSeconds(15);

    public static async Task WriteAsync(HttpContext context, ControlPlane plane, TimeProvider time)
    {
        context.Response.ContentType = "text/event-stream";
        context.Response.Headers.CacheControl = "no-cache";
        var aborted = context.RequestAborted;
        string? sent = null;
        var quietSince = time.GetUtcNow();
        try
        {
            while (!aborted.IsCancellationRequested)
            {
                var recorded = plane.Events.Recorded;
                var live = LiveStatus.Of(plane, time.GetUtcNow());
                // Compared without its time stamp, which differs every time.
                var state = JsonSerializer.Serialize(live with { At = default }, ApiJson.Options);
                if (state != sent)
                {
                    await context.Response.WriteAsync($"event: status\ndata: {JsonSerializer.Serialize(live, ApiJson.Options)}\n\n", aborted);
                    await context.Response.Body.FlushAsync(aborted);
                    sent = state;
                    quietSince = time.GetUtcNow();
                }
                else if (time.GetUtcNow() - quietSince >= KeepAlive)
                {
                    // A comment line keeps proxies from closing an idle stream.
                    await context.Response.WriteAsync(": keep-alive\n\n", aborted);
                    await context.Response.Body.FlushAsync(aborted);
                    quietSince = time.GetUtcNow();
                }
                await Task.WhenAny(recorded, Task.Delay(Poll, time, aborted));
            }
        }
        catch (OperationCanceledException)
        {
            // The client went away.
        }
    }
}
