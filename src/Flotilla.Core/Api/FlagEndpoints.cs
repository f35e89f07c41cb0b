using System.Buffers;
using System.Text.Json;
using System.Text.Json.Nodes;
using Flotilla.Flags;
using Flotilla.Flags.Ofrep;
using Flotilla.Hosting;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Flotilla.Api;

/// <summary>The routes of /v1/flags: list, get, change, reset, evaluate (as OFREP answers) and drift.</summary>
internal static class FlagEndpoints
{
    public static void Map(RouteGroupBuilder v1)
    {
        v1.MapGet("/flags", (ControlPlane plane) => Results.Json(new FlagList(plane.FlagsUrl, plane.State.Environment, plane.FlagViews()), ApiJson.Options))
            .WithSummary("Every flag: state, default, variants, and whether it was changed at runtime (by whom, when, how it differs from the spec).");
        v1.MapGet("/flags/drift", (ControlPlane plane) => Results.Json(plane.FlagDrift(), ApiJson.Options))
            .WithSummary("The flags that differ from the spec because they were changed at runtime.");
        v1.MapGet("/flags/{key}", (string key, ControlPlane plane) => Results.Json(plane.View(key), ApiJson.Options)).WithSummary("One flag, with its whole definition.");
        v1.MapMethods("/flags/{key}", [HttpMethods.Patch], async (string key, HttpContext context, ControlPlane plane) =>
        {
            var patch = await JsonNode.ParseAsync(context.Request.Body, cancellationToken: context.RequestAborted) as JsonObject
                ?? throw new JsonException("send a JSON object of the parts to change: {\"state\": \"DISABLED\"}");
            return Results.Json(await plane.ChangeFlagAsync(key, patch, ApiAuth.Actor(context), context.RequestAborted), ApiJson.Options);
        }).WithSummary("Changes a flag at runtime (state, defaultVariant, targeting, variants, metadata): live at once, audited, drift until reset or the spec changes it.");
        v1.MapDelete("/flags/{key}/change", async (string key, HttpContext context, ControlPlane plane) =>
            Results.Json(await plane.ResetFlagAsync(key, ApiAuth.Actor(context), context.RequestAborted), ApiJson.Options))
            .WithSummary("Drops a flag's runtime change: it serves as the spec says again.");
        v1.MapGet("/flags/{key}/evaluate", (string key, string? context, ControlPlane plane) =>
        {
            var output = new ArrayBufferWriter<byte>();
            EvaluationContext evaluation;
            try
            {
                using var parsed = JsonDocument.Parse(string.IsNullOrWhiteSpace(context) ? "{}" : context);
                if (!EvaluationContext.TryFrom(parsed.RootElement, out evaluation, out var error))
                {
                    OfrepResponses.WriteFailure(output, key, FlagErrors.InvalidContext, error);
                    return Results.Text(System.Text.Encoding.UTF8.GetString(output.WrittenSpan), "application/json", null, StatusCodes.Status400BadRequest);
                }
            }
            catch (JsonException e)
            {
                OfrepResponses.WriteFailure(output, key, FlagErrors.InvalidContext, $"the context is not valid JSON: {e.Message.Split(" LineNumber:")[0]}");
                return Results.Text(System.Text.Encoding.UTF8.GetString(output.WrittenSpan), "application/json", null, StatusCodes.Status400BadRequest);
            }
            var result = plane.Flags.Evaluate(key, evaluation);
            OfrepResponses.WriteSingle(output, result);
            return Results.Text(System.Text.Encoding.UTF8.GetString(output.WrittenSpan), "application/json", null, OfrepResponses.StatusOf(result));
        }).WithSummary("Evaluates a flag for ?context= (a JSON object) with the flags served now; the answer is what OFREP answers.");
    }
}

/// <summary>GET /v1/flags: where instances evaluate flags (FLOTILLA_FLAGS_URL), the environment, and every flag.</summary>
public sealed record FlagList(string? Url, string? Environment, IReadOnlyList<FlagView> Flags);
