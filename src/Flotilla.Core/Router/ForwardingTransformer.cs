using Microsoft.AspNetCore.Http;
using Yarp.ReverseProxy.Forwarder;

namespace Flotilla.Router;

/// <summary>
/// YARP's default transform for one instance, plus two things of ours: a sticky cookie the router
/// set is kept beside the instance's own, and an instance that answers HTTP/1.0 without
/// <c>Connection: keep-alive</c> is sent <c>Connection: close</c> from then on.
/// </summary>
/// <remarks>
/// .NET's SocketsHttpHandler keeps an HTTP/1.0 answer's connection for reuse unless it says
/// <c>Connection: close</c>, while an HTTP/1.0 server (python's http.server, many small ones)
/// closes it after the answer, as HTTP/1.0 says it may. The next request on that pooled
/// connection then races the server's close and ends with no answer: under load a few percent
/// of requests became 502s. Asking for close makes the client open a new connection each time,
/// which is what such a server expects (and what nginx does without upstream keepalive).
/// </remarks>
internal sealed class ForwardingTransformer : HttpTransformer
{
    private volatile bool _closesConnections;

    /// <summary>True once the instance answered HTTP/1.0 without keep-alive.</summary>
    public bool ClosesConnections => _closesConnections;

    public override async ValueTask TransformRequestAsync(HttpContext httpContext, HttpRequestMessage proxyRequest, string destinationPrefix, CancellationToken cancellationToken)
    {
        await base.TransformRequestAsync(httpContext, proxyRequest, destinationPrefix, cancellationToken);
        if (_closesConnections)
        {
            proxyRequest.Headers.ConnectionClose = true;
        }
    }

    public override async ValueTask<bool> TransformResponseAsync(HttpContext httpContext, HttpResponseMessage? proxyResponse, CancellationToken cancellationToken)
    {
        if (proxyResponse is { Version: { Major: 1, Minor: 0 } } && !KeepsAlive(proxyResponse))
        {
            _closesConnections = true;
        }
        var ours = httpContext.Response.Headers.SetCookie;
        var result = await base.TransformResponseAsync(httpContext, proxyResponse, cancellationToken);
        if (ours.Count > 0 && !httpContext.Response.Headers.SetCookie.Contains(ours[0]))
        {
            httpContext.Response.Headers.Append("Set-Cookie", ours);
        }
        return result;
    }

    private static bool KeepsAlive(HttpResponseMessage response) =>
        response.Headers.Connection.Any(c => c.Equals("keep-alive", StringComparison.OrdinalIgnoreCase));
}
