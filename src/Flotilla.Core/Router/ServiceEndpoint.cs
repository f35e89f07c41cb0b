using System.Net;
using System.Net.Sockets;
using Microsoft.AspNetCore.Builder;
using Microsoft.AspNetCore.Hosting;
using Microsoft.AspNetCore.Hosting.Server.Features;
using Microsoft.AspNetCore.Server.Kestrel.Core;
using Microsoft.AspNetCore.Http;
using Microsoft.Extensions.DependencyInjection;
using Microsoft.Extensions.Hosting;
using Microsoft.Extensions.Logging;
using Yarp.ReverseProxy.Forwarder;

namespace Flotilla.Router;

/// <summary>
/// The stable endpoint of one service: its own listener on 127.0.0.1, forwarding each request
/// through YARP's forwarder to a ready instance, retried elsewhere as <see cref="RetryPolicy"/>
/// says. Each response is counted for the revision that gave it (status class, latency).
/// </summary>
internal sealed class ServiceEndpoint : IAsyncDisposable
{
    private readonly WebApplication _app;
    private readonly IHttpForwarder _forwarder;
    private readonly UpstreamClients _clients;
    private readonly Action<string>? _log;
    private readonly byte[] _unavailableBody;
    private ServiceRoutes _routes = ServiceRoutes.Empty;

    private readonly Mirror.MirrorWorker _mirror;

    private ServiceEndpoint(string service, WebApplication app, UpstreamClients clients, Mirror.MirrorWorker mirror, Action<string>? log, Action held)
    {
        Gate = new Functions.FunctionGate(held);
        Service = service;
        _app = app;
        _clients = clients;
        _log = log;
        _mirror = mirror;
        _forwarder = app.Services.GetRequiredService<IHttpForwarder>();
        _unavailableBody = System.Text.Encoding.UTF8.GetBytes($"flotilla: no ready instance of service '{service}'\n");
        app.Run(HandleAsync);
    }

    public string Service { get; }

    /// <summary>Demand and held requests, when this endpoint is a function's.</summary>
    public Functions.FunctionGate Gate { get; }

    /// <summary>Whether the last table made this endpoint a function's.</summary>
    public bool IsFunction => Volatile.Read(ref _routes).Function is not null;
    public int Port { get; private set; }

    /// <summary>
    /// Listens (a socket from <paramref name="listeners"/>) and starts the endpoint; throws <see cref="EndpointBindException"/>
    /// when the port is taken. <paramref name="routesBeforeServing"/> gives its first routes before it takes a request:
    /// a socket held by the supervisor has connections waiting, and none of them may meet an empty table.
    /// </summary>
    public static async Task<ServiceEndpoint> StartAsync(string service, int? port, IListenerSource listeners, UpstreamClients clients, Mirror.MirrorWorker mirror, Action<string>? log, Action held, Func<ServiceRoutes> routesBeforeServing, CancellationToken cancellationToken)
    {
        Exception InUse() => new EndpointBindException(service, port ?? 0, $"service '{service}': endpoint port {port} is already in use by another program (or another environment on this server: give it environments.NAME.portOffset); stop it or change services.{service}.http.port");
        var target = await EmbeddedWebApp.OpenAsync(listeners, ListenerKey(service), new IPEndPoint(IPAddress.Loopback, port ?? 0), InUse, cancellationToken);
        var builder = EmbeddedWebApp.CreateBuilder();
        builder.Services.AddHttpForwarder();
        builder.WebHost.UseKestrel(kestrel =>
        {
            kestrel.AddServerHeader = false;
            // HTTP/1.1 only: the forwarder speaks HTTP/1.1 to plain-http instances (h2c is not forwarded
            // yet), so accepting prior-knowledge HTTP/2 here would only hide a silent downgrade.
            target.ApplyTo(kestrel, listen => listen.Protocols = HttpProtocols.Http1);
        });
        var endpoint = new ServiceEndpoint(service, builder.Build(), clients, mirror, log, held);
        endpoint.SetRoutes(routesBeforeServing());
        endpoint.Port = await EmbeddedWebApp.ListenAsync(endpoint._app, target, InUse, cancellationToken);
        return endpoint;
    }

    /// <summary>The name of a service endpoint's listening socket where a supervisor holds it.</summary>
    public static string ListenerKey(string service) => $"service/{service}";

    public void SetRoutes(ServiceRoutes routes)
    {
        // The routes first: a held request that wakes reads them.
        Volatile.Write(ref _routes, routes);
        Gate.SetReady(!routes.IsEmpty);
    }

    private Task HandleAsync(HttpContext context)
    {
        var routes = Volatile.Read(ref _routes);
        return routes.Function is null ? HandleServiceAsync(context, routes) : HandleFunctionAsync(context, routes, routes.Function);
    }

    /// <summary>
    /// A function's request: demand from the moment it arrives; held while the function has no ready
    /// instance (the control plane is told at once and starts one), then forwarded like any other.
    /// </summary>
    private async Task HandleFunctionAsync(HttpContext context, ServiceRoutes routes, Functions.FunctionRoute function)
    {
        if (!UnderPath(context.Request.Path, function.Path))
        {
            context.Response.StatusCode = StatusCodes.Status404NotFound;
            await context.Response.WriteAsync($"flotilla: function '{Service}' serves requests under {function.Path}\n");
            return;
        }
        Gate.Enter();
        try
        {
            if (routes.IsEmpty)
            {
                var held = System.Diagnostics.Stopwatch.GetTimestamp();
                var outcome = await Gate.HoldAsync(function, () => !Volatile.Read(ref _routes).IsEmpty, context.RequestAborted);
                if (outcome != Functions.HoldOutcome.Ready)
                {
                    await RespondColdRefusedAsync(context, function, outcome);
                    return;
                }
                context.Response.Headers["X-Flotilla-Cold-Start"] = ((long)System.Diagnostics.Stopwatch.GetElapsedTime(held).TotalMilliseconds).ToString(System.Globalization.CultureInfo.InvariantCulture);
                routes = Volatile.Read(ref _routes);
            }
            Gate.Forwarding(1);
            try
            {
                await HandleServiceAsync(context, routes);
            }
            finally
            {
                Gate.Forwarding(-1);
            }
        }
        finally
        {
            Gate.Leave();
        }
    }

    private static bool UnderPath(PathString path, string prefix) =>
        prefix == "/" || path.StartsWithSegments(prefix, StringComparison.Ordinal);

    /// <summary>Held past the bounds: 503 with Retry-After and the reason (never a hang, never a 502).</summary>
    private Task RespondColdRefusedAsync(HttpContext context, Functions.FunctionRoute function, Functions.HoldOutcome outcome)
    {
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers.RetryAfter = outcome == Functions.HoldOutcome.TooManyPending ? "1" : Math.Max(1, (int)Math.Ceiling(function.StartBudget.TotalSeconds / 2)).ToString(System.Globalization.CultureInfo.InvariantCulture);
        var why = outcome == Functions.HoldOutcome.TooManyPending
            ? $"{function.MaxPending} requests are already waiting for an instance (functions.{Service}.hold.pending)"
            : $"no instance became ready within {function.StartBudget.TotalSeconds:0.###} s (functions.{Service}.hold.budget); see 'flotilla events {Service}'";
        return context.Response.WriteAsync($"flotilla: function '{Service}' is starting: {why}\n");
    }

    private async Task HandleServiceAsync(HttpContext context, ServiceRoutes routes)
    {
        var destinations = routes.Choose(context, out var newBucket);
        // Sticky: the user stays on this side of the split for the rest of the rollout.
        var cookie = newBucket is { } bucket ? $"{routes.CookieName}={bucket}; Path=/; HttpOnly; SameSite=Lax" : null;
        if (cookie is not null)
        {
            context.Response.Headers.Append("Set-Cookie", cookie);
        }
        var destination = destinations.Pick();
        if (destination is null)
        {
            await RespondUnavailableAsync(context);
            return;
        }
        // In flight from the moment it is chosen, not only while forwarding: a table swap and a drain
        // in between (a mirrored request reads its body first) must still wait for this request.
        destination.Enter();
        try
        {
            if (routes.Mirror is { } policy && policy.Mirrors(context.Request.Method) && Random.Shared.NextDouble() * 100 < policy.Sample)
            {
                await MirrorAsync(context, routes, policy, destinations, destination, cookie);
                return;
            }
            await ForwardWithRetryAsync(context, destinations, destination, cookie, routes.RequestConfig);
        }
        finally
        {
            destination.Leave();
        }
    }

    /// <summary>Forwards, retrying on another instance as <see cref="RetryPolicy"/> allows. Returns the destination that answered.</summary>
    private async Task<(DestinationState Answered, ForwarderError Error)> ForwardWithRetryAsync(HttpContext context, DestinationSet destinations, DestinationState destination, string? cookie, ForwarderRequestConfig config)
    {
        var started = System.Diagnostics.Stopwatch.GetTimestamp();
        var error = await ForwardAsync(context, destination, config);
        DestinationState? earlier = null;
        // A machine that stopped acknowledging can fail a forward after the answer began to arrive, but
        // while nothing has reached the client it is retried like a request that got no answer.
        for (var attempt = 1; (error == ForwarderError.Request || RetryPolicy.Unreachable(context.Features.Get<IForwarderErrorFeature>()?.Exception)) && !context.Response.HasStarted; attempt++)
        {
            var exception = context.Features.Get<IForwarderErrorFeature>()?.Exception;
            var failure = RetryPolicy.Classify(exception);
            if (RetryPolicy.Unreachable(exception))
            {
                destinations.MarkMachineFailed(destination);
            }
            else if (failure == RetryPolicy.Failure.Connect)
            {
                destination.MarkFailed();
            }
            if (attempt >= RetryPolicy.MaxAttempts || !RetryPolicy.Allows(context.Request, failure)
                || System.Diagnostics.Stopwatch.GetElapsedTime(started) > RetryPolicy.Budget)
            {
                break;
            }
            context.Response.Clear();
            context.Features.Set<IForwarderErrorFeature>(null);
            if (cookie is not null)
            {
                context.Response.Headers.Append("Set-Cookie", cookie);
            }
            var next = destinations.Pick(exclude: destination, alsoExclude: earlier) ?? destination;
            earlier = destination;
            destination = next;
            // The first instance is in flight since it was picked (HandleAsync); another one from now.
            destination.Enter();
            try
            {
                error = await ForwardAsync(context, destination, config);
            }
            finally
            {
                destination.Leave();
            }
        }
        if (error != ForwarderError.None)
        {
            ReportFailure(context, destination, error);
        }
        // Counted once per client request, for the revision that answered it.
        destination.Metrics.Record(context.Response.StatusCode, (long)System.Diagnostics.Stopwatch.GetElapsedTime(started).TotalMicroseconds);
        return (destination, error);
    }

    /// <summary>
    /// A sampled request of a parallel run: stable answers the client exactly as always while the
    /// answer is copied on its way out; only then is the comparison queued (off the request path).
    /// </summary>
    private async Task MirrorAsync(HttpContext context, ServiceRoutes routes, Mirror.MirrorPolicy policy, DestinationSet destinations, DestinationState destination, string? cookie)
    {
        byte[]? body = null;
        var tooBig = false;
        if (context.Request.ContentLength is > 0 || context.Request.Headers.ContainsKey("Transfer-Encoding"))
        {
            // Kept up to the limit only: a bigger body is forwarded as always and not mirrored (counted as skipped).
            context.Request.EnableBuffering(policy.MaxBodyBytes);
            var buffer = new byte[policy.MaxBodyBytes + 1];
            var kept = 0;
            int read;
            while (kept < buffer.Length && (read = await context.Request.Body.ReadAsync(buffer.AsMemory(kept), context.RequestAborted)) > 0)
            {
                kept += read;
            }
            context.Request.Body.Position = 0;
            tooBig = kept > policy.MaxBodyBytes;
            body = tooBig ? null : buffer[..kept];
        }
        var request = new Mirror.RequestCopy(context.Request.Method, context.Request.Path + context.Request.QueryString,
            context.Request.Headers.Select(h => new KeyValuePair<string, string[]>(h.Key, h.Value.ToArray()!)).ToList(), body);
        var original = context.Response.Body;
        await using var tee = new Mirror.TeeStream(original, policy.MaxBodyBytes);
        context.Response.Body = tee;
        (DestinationState Answered, ForwarderError Error) result;
        try
        {
            result = await ForwardWithRetryAsync(context, destinations, destination, cookie, routes.RequestConfig);
        }
        finally
        {
            context.Response.Body = original;
        }
        if (routes.Report is not { } report)
        {
            return;
        }
        if (result.Error != ForwarderError.None || tooBig || routes.Candidates.Pick() is not { } candidate)
        {
            report.Skipped();
            return;
        }
        var (bytes, hash, length) = tee.Result();
        var headers = policy.Headers.Where(h => context.Response.Headers.ContainsKey(h))
            .ToDictionary(h => h.ToLowerInvariant(), h => context.Response.Headers[h].ToString(), StringComparer.Ordinal);
        var stable = new Mirror.Capture(context.Response.StatusCode, headers, bytes, hash, length);
        _mirror.TryQueue(new Mirror.MirrorJob(policy, report, request, stable, candidate, routes.StableSide.Pick(exclude: result.Answered) ?? result.Answered));
    }

    private ValueTask<ForwarderError> ForwardAsync(HttpContext context, DestinationState destination, ForwarderRequestConfig config) =>
        _forwarder.SendAsync(context, destination.Prefix, _clients.For(destination), config, destination.Transformer);

    private long _lastFailureReport;

    /// <summary>A request the router could not get answered, said in its log at most once a second per endpoint (a flood would drown the log).</summary>
    private void ReportFailure(HttpContext context, DestinationState last, ForwarderError error)
    {
        if (_log is null)
        {
            return;
        }
        var now = Environment.TickCount64;
        var previous = Volatile.Read(ref _lastFailureReport);
        if (now - previous < 1000 || Interlocked.CompareExchange(ref _lastFailureReport, now, previous) != previous)
        {
            return;
        }
        var cause = context.Features.Get<IForwarderErrorFeature>()?.Exception?.GetBaseException().Message ?? error.ToString();
        _log($"service '{Service}': {context.Request.Method} {context.Request.Path} answered {context.Response.StatusCode} ({error}); last tried instance {last.InstanceId}: {cause}");
    }

    private Task RespondUnavailableAsync(HttpContext context)
    {
        context.Response.StatusCode = StatusCodes.Status503ServiceUnavailable;
        context.Response.ContentType = "text/plain; charset=utf-8";
        context.Response.Headers.RetryAfter = "1";
        return context.Response.Body.WriteAsync(_unavailableBody).AsTask();
    }

    public async ValueTask DisposeAsync()
    {
        // Requests in flight may finish (a reload retires a worker this way); idle connections close at once.
        using var timeout = new CancellationTokenSource(TimeSpan.FromSeconds(30));
        await _app.StopAsync(timeout.Token);
        await _app.DisposeAsync();
    }
}
