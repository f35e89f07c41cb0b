using System.Text.Json;
using Flotilla.Artifacts;
using Flotilla.Hosting;
using Flotilla.Model;
using Flotilla.Store;
using Microsoft.AspNetCore.Http;

namespace Flotilla.Api;

/// <summary>
/// Every refusal as RFC 9457 problem JSON with a precise message (the same words as the CLI
/// prints), mapped from what the control plane throws. Nothing it throws on purpose becomes a 500.
/// </summary>
public static class ApiErrors
{
    public static Task WriteAsync(HttpContext context, int status, string title, string? detail = null, IReadOnlyList<string>? errors = null)
    {
        context.Response.StatusCode = status;
        return context.Response.WriteAsJsonAsync(new Problem(title, status, detail, errors), ApiJson.Options, "application/problem+json");
    }

    public static IResult For(Exception e) => e switch
    {
        SpecException spec => Result(StatusCodes.Status422UnprocessableEntity, "the spec is not valid", $"{spec.Errors.Count} problem(s)", spec.Errors.Select(x => x.ToString()).ToList()),
        StaleRevisionException stale => Result(StatusCodes.Status409Conflict, "stale revision", stale.Message),
        ArtifactBuildException build => Result(StatusCodes.Status422UnprocessableEntity, build.Message, "the build failed; nothing was applied", build.OutputTail),
        ControlPlaneException cp => Result(cp.Kind switch
        {
            ControlPlaneError.NotFound => StatusCodes.Status404NotFound,
            ControlPlaneError.Conflict => StatusCodes.Status409Conflict,
            ControlPlaneError.Unavailable => StatusCodes.Status503ServiceUnavailable,
            _ => StatusCodes.Status400BadRequest,
        }, cp.Message),
        JsonException json => Result(StatusCodes.Status400BadRequest, "malformed JSON", json.Message),
        HttpRequestException router => Result(StatusCodes.Status503ServiceUnavailable, "the router process is not answering; the server restarts it, try again shortly", router.Message),
        BadHttpRequestException bad => Result(bad.StatusCode, bad.StatusCode == StatusCodes.Status413PayloadTooLarge ? "request body too large" : "bad request", bad.Message),
        _ => Result(StatusCodes.Status500InternalServerError, "internal error", $"{e.GetType().Name}: {e.Message}"),
    };

    public static IResult Result(int status, string title, string? detail = null, IReadOnlyList<string>? errors = null) =>
        Results.Json(new Problem(title, status, detail, errors), ApiJson.Options, "application/problem+json", status);

    public sealed record Problem(string Title, int Status, string? Detail, IReadOnlyList<string>? Errors);
}

/// <summary>The API's JSON conventions: camelCase, enums as strings.</summary>
public static class ApiJson
{
    public static readonly JsonSerializerOptions Options = new(JsonSerializerDefaults.Web)
    {
        Converters = { new System.Text.Json.Serialization.JsonStringEnumConverter(JsonNamingPolicy.CamelCase) },
    };
}
