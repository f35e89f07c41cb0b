using System.Buffers;
using System.Net;
using System.Security.Cryptography;
using Flotilla.Flags;
using Flotilla.Flags.Ofrep;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Http;

namespace Flotilla.Router;

/// <summary>
/// The flag service's data plane: OFREP (the OpenFeature Remote Evaluation Protocol) on its own
/// loopback port, in the router process, so flags keep evaluating while the control plane
/// restarts. Any OpenFeature SDK with an OFREP provider evaluates against it; its base URL is
/// handed to every instance as FLOTILLA_FLAGS_URL. The flag set is swapped whole.
/// With an access key (a per-environment secret), it answers only under <c>/{key}/ofrep/...</c>, so the
/// base URL an environment's instances get is a capability: an instance of another environment or
/// tenant, which can reach the loopback port, cannot read these flags. Any SDK takes such a base URL
/// as it is. Every miss (no key, a wrong key, the root path) is the same bare 404.
/// </summary>
public sealed class OfrepEndpoint : IAsyncDisposable
{
    public const int MaxBodyBytes = 1 << 20;
    private static readonly byte[] Configuration = """
        {"name":"flotilla","capabilities":{"cacheInvalidation":{"polling":{"enabled":true,"minPollingIntervalMs":1000}},"flagEvaluation":{"supportedTypes":["int","float","string","boolean","object"]}}}
        """u8.ToArray();

    private readonly WebApplication _app;
    private FlagSet _flags;
    private string? _access;

    private OfrepEndpoint(WebApplication app, FlagSet flags, string? access)
    {
        _app = app;
        _flags = flags;
        _access = access;
        foreach (var prefix in new[] { "", "/{access}" })
        {
            app.MapPost(prefix + "/ofrep/v1/evaluate/flags/{key}", (HttpContext context, string key, string? access) => Admitted(context, access) ? EvaluateOneAsync(context, key) : NotFound(context));
            app.MapPost(prefix + "/ofrep/v1/evaluate/flags", (HttpContext context, string? access) => Admitted(context, access) ? EvaluateAllAsync(context) : NotFound(context));
            app.MapGet(prefix + "/ofrep/v1/configuration", (HttpContext context, string? access) => Admitted(context, access) ? WriteAsync(context, 200, Configuration) : NotFound(context));
        }
    }

    public int Port { get; private set; }

    public FlagSet Flags => Volatile.Read(ref _flags);

    /// <summary>The path segment the flags are served under, or null: at the root.</summary>
    public string? Access => Volatile.Read(ref _access);

    public void Swap(FlagSet flags, string? access)
    {
        Volatile.Write(ref _access, access);
        Volatile.Write(ref _flags, flags);
    }

    /// <summary>The request named the access key the flags are served under (in constant time), or none when there is none.</summary>
    private bool Admitted(HttpContext context, string? given)
    {
        if (Access is not { } expected)
        {
            return given is null;
        }
        return given is not null && CryptographicOperations.FixedTimeEquals(System.Text.Encoding.UTF8.GetBytes(given), System.Text.Encoding.UTF8.GetBytes(expected));
    }

    /// <summary>What an unmatched path answers too, so a wrong key tells nothing.</summary>
    private static Task NotFound(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status404NotFound;
        return Task.CompletedTask;
    }

    /// <summary>The name of the flag port's listening socket where a supervisor holds it.</summary>
    public const string ListenerKey = "flags";

    /// <summary>Listens on 127.0.0.1 (port 0: any free one; a socket from <paramref name="listeners"/>); throws <see cref="EndpointBindException"/> when the port is taken.</summary>
    public static async Task<OfrepEndpoint> StartAsync(int? port, FlagSet flags, string? access = null, IListenerSource? listeners = null, CancellationToken cancellationToken = default)
    {
        Exception InUse() => new EndpointBindException("flags", port ?? 0, $"the flag service's port {port} is already in use by another program (or another environment on this server: give it environments.NAME.portOffset); stop it or change flags.port");
        var target = await EmbeddedWebApp.OpenAsync(listeners ?? DirectListeners.Instance, ListenerKey, new IPEndPoint(IPAddress.Loopback, port ?? 0), InUse, cancellationToken);
        var builder = EmbeddedWebApp.CreateBuilder();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            kestrel.Limits.MaxRequestBodySize = MaxBodyBytes;
            target.ApplyTo(kestrel);
        });
        var endpoint = new OfrepEndpoint(builder.Build(), flags, access);
        endpoint.Port = await EmbeddedWebApp.ListenAsync(endpoint._app, target, InUse, cancellationToken);
        return endpoint;
    }

    private async Task EvaluateOneAsync(HttpContext context, string key)
    {
        if (await ReadContextAsync(context, key) is not { } evaluation)
        {
            return;
        }
        var output = new ArrayBufferWriter<byte>(256);
        var result = Flags.Evaluate(key, evaluation);
        OfrepResponses.WriteSingle(output, result);
        await WriteAsync(context, OfrepResponses.StatusOf(result), output.WrittenMemory);
    }

    /// <summary>
    /// Every flag for one context. The ETag is a digest of the answer itself, so it changes with the
    /// flag set and with the context (and with time, for a rule on $flagd.timestamp): a client whose
    /// context changed never gets a stale 304.
    /// </summary>
    private async Task EvaluateAllAsync(HttpContext context)
    {
        if (await ReadContextAsync(context, key: null) is not { } evaluation)
        {
            return;
        }
        var output = new ArrayBufferWriter<byte>(1024);
        OfrepResponses.WriteBulk(output, Flags.EvaluateAll(evaluation));
        var etag = $"\"{Convert.ToHexStringLower(SHA256.HashData(output.WrittenSpan))[..32]}\"";
        context.Response.Headers.ETag = etag;
        if (Matches(context.Request.Headers.IfNoneMatch.ToString(), etag))
        {
            context.Response.StatusCode = StatusCodes.Status304NotModified;
            return;
        }
        await WriteAsync(context, 200, output.WrittenMemory);
    }

    public static bool Matches(string ifNoneMatch, string etag)
    {
        foreach (var candidate in ifNoneMatch.Split(',', StringSplitOptions.TrimEntries | StringSplitOptions.RemoveEmptyEntries))
        {
            var tag = candidate.StartsWith("W/", StringComparison.Ordinal) ? candidate[2..] : candidate;
            if (tag == "*" || tag == etag || $"\"{tag}\"" == etag)
            {
                return true;
            }
        }
        return false;
    }

    /// <summary>The request's context; null when the request was answered already (INVALID_CONTEXT, or a body too large).</summary>
    private static async Task<EvaluationContext?> ReadContextAsync(HttpContext context, string? key)
    {
        var body = new ArrayBufferWriter<byte>(256);
        try
        {
            while (true)
            {
                var memory = body.GetMemory(4096);
                var read = await context.Request.Body.ReadAsync(memory, context.RequestAborted);
                if (read == 0)
                {
                    break;
                }
                body.Advance(read);
            }
        }
        catch (BadHttpRequestException e) when (e.StatusCode == StatusCodes.Status413PayloadTooLarge)
        {
            var output = new ArrayBufferWriter<byte>();
            OfrepResponses.WriteFailure(output, key, FlagErrors.General, $"the request body is larger than {MaxBodyBytes} bytes");
            await WriteAsync(context, 413, output.WrittenMemory);
            return null;
        }
        if (EvaluationContext.TryParseRequest(body.WrittenSpan, out var evaluation, out var error))
        {
            return evaluation;
        }
        var failure = new ArrayBufferWriter<byte>();
        OfrepResponses.WriteFailure(failure, key, FlagErrors.InvalidContext, error);
        await WriteAsync(context, 400, failure.WrittenMemory);
        return null;
    }

    private static Task WriteAsync(HttpContext context, int status, ReadOnlyMemory<byte> body)
    {
        context.Response.StatusCode = status;
        context.Response.ContentType = "application/json";
        context.Response.ContentLength = body.Length;
        return context.Response.Body.WriteAsync(body).AsTask();
    }

    public async ValueTask DisposeAsync()
    {
        await _app.StopAsync(CancellationToken.None);
        await _app.DisposeAsync();
    }
}
