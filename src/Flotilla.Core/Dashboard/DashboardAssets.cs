using System.Collections.Frozen;
using System.Reflection;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Http;
using Microsoft.AspNetCore.Routing;

namespace Flotilla.Dashboard;

/// <summary>
/// The dashboard's files (HTML, scripts, styles, the vendored chart library), embedded in this assembly and
/// served at /ui. They hold no data and need no token: the page signs in and then calls /v1 like the CLI does.
/// Read once at start-up; nothing is fetched from elsewhere (no CDN), so the page works offline.
/// </summary>
internal static class DashboardAssets
{
    public const string Prefix = "/ui";
    private const string ResourcePrefix = "dashboard/";

    // Scripts and styles only from this server; uPlot sizes its elements with style attributes.
    private const string ContentSecurityPolicy = "default-src 'self'; style-src 'self' 'unsafe-inline'; img-src 'self' data:; frame-ancestors 'none'";

    private static readonly FrozenDictionary<string, string> Types = new Dictionary<string, string>
    {
        [".html"] = "text/html; charset=utf-8",
        [".js"] = "text/javascript; charset=utf-8",
        [".css"] = "text/css; charset=utf-8",
        [".svg"] = "image/svg+xml",
        [".txt"] = "text/plain; charset=utf-8",
    }.ToFrozenDictionary();

    private static readonly Lazy<FrozenDictionary<string, byte[]>> Files = new(Load);

    /// <summary>The embedded files by their path under /ui/ ("index.html", "vendor/uplot/uPlot.iife.min.js").</summary>
    public static IReadOnlyDictionary<string, byte[]> All => Files.Value;

    public static void Map(IEndpointRouteBuilder app)
    {
        app.MapGet("/", () => Results.Redirect(Prefix + "/")).ExcludeFromDescription();
        // One route for /ui and below (routing treats /ui and /ui/ alike): the page's relative links need the slash.
        app.MapGet(Prefix + "/{**path}", (string? path, HttpContext context) =>
                !context.Request.Path.Value!.EndsWith('/') && string.IsNullOrEmpty(path) ? Results.Redirect(Prefix + "/")
                : Serve(string.IsNullOrEmpty(path) ? "index.html" : path, context))
            .ExcludeFromDescription();
    }

    private static IResult Serve(string path, HttpContext context)
    {
        if (!Files.Value.TryGetValue(path, out var bytes))
        {
            return Results.Text($"the dashboard has no file '{path}'; open {Prefix}/\n", "text/plain; charset=utf-8", statusCode: StatusCodes.Status404NotFound);
        }
        context.Response.Headers.ContentSecurityPolicy = ContentSecurityPolicy;
        context.Response.Headers.XContentTypeOptions = "nosniff";
        // The files change only with Flotilla itself; revalidating is cheap and never serves a stale script after an upgrade.
        context.Response.Headers.CacheControl = "no-cache";
        var type = Types.GetValueOrDefault(Path.GetExtension(path), "application/octet-stream");
        return Results.Bytes(bytes, type);
    }

    private static FrozenDictionary<string, byte[]> Load()
    {
        var assembly = typeof(DashboardAssets).Assembly;
        var files = new Dictionary<string, byte[]>(StringComparer.Ordinal);
        foreach (var name in assembly.GetManifestResourceNames().Where(n => n.StartsWith(ResourcePrefix, StringComparison.Ordinal)))
        {
            using var stream = assembly.GetManifestResourceStream(name)!;
            using var copy = new MemoryStream();
            stream.CopyTo(copy);
            files[name[ResourcePrefix.Length..].Replace('\\', '/')] = copy.ToArray();
        }
        return files.ToFrozenDictionary(StringComparer.Ordinal);
    }
}
