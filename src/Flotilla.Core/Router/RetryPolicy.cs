using System.Net.Sockets;
using Microsoft.AspNetCore.Http;

namespace Flotilla.Router;

/// <summary>
/// What the router retries on another instance, as nginx's <c>proxy_next_upstream error</c> and
/// Envoy's <c>connect-failure,reset</c> retry-on do: a request is retried only while nothing of
/// its answer has reached the client, and only when repeating it cannot do something twice.
/// <list type="bullet">
/// <item>The instance could not be connected to (refused, reset or timed out while connecting):
/// the request never left the router, so any method is retried, with its body.</item>
/// <item>The request was sent and the connection ended, was reset, or was never acknowledged
/// (the instance's machine is gone: <see cref="UpstreamClients.SendTimeout"/>) before any byte of an
/// answer: retried for idempotent methods without a body (GET, HEAD, OPTIONS, TRACE, PUT,
/// DELETE); a POST or PATCH may have been acted on, so it gets the 502.</item>
/// <item>A timeout (504) and an answer of any status from the instance are never retried.</item>
/// </list>
/// At most <see cref="MaxAttempts"/> attempts in all, each on another instance of the same side
/// when it has one (the same instance, on a new connection, when it has not), and none starts
/// later than <see cref="Budget"/> after the request arrived.
/// </summary>
internal static class RetryPolicy
{
    public const int MaxAttempts = 3;
    public static readonly TimeSpan Budget = TimeSpan.FromSeconds(5);

    /// <summary>Why a forward failed, as far as retrying is concerned.</summary>
    public enum Failure
    {
        /// <summary>No connection: nothing was sent.</summary>
        Connect,

        /// <summary>Sent, and the connection ended before any answer.</summary>
        NoAnswer,

        /// <summary>Anything else (a timeout, a broken body): never retried.</summary>
        Other,
    }

    public static Failure Classify(Exception? exception)
    {
        for (var e = exception; e is not null; e = e.InnerException)
        {
            switch (e)
            {
                case HttpRequestException { HttpRequestError: HttpRequestError.ConnectionError }:
                case SocketException { SocketErrorCode: SocketError.ConnectionRefused or SocketError.HostUnreachable or SocketError.NetworkUnreachable }:
                    return Failure.Connect;
                case HttpRequestException { HttpRequestError: HttpRequestError.ResponseEnded }:
                case HttpIOException { HttpRequestError: HttpRequestError.ResponseEnded }:
                    return Failure.NoAnswer;
                case OperationCanceledException or TimeoutException:
                    return Failure.Other;
            }
        }
        // A reset while sending or before the status line surfaces as a bare IOException around a SocketException;
        // so does a send never acknowledged (TimedOut: the instance's machine is unreachable, see UpstreamClients.SendTimeout).
        return exception?.GetBaseException() is SocketException { SocketErrorCode: SocketError.ConnectionReset or SocketError.Shutdown or SocketError.ConnectionAborted or SocketError.TimedOut }
            ? Failure.NoAnswer
            : Failure.Other;
    }

    /// <summary>The instance's machine did not acknowledge what was sent: it is unreachable, not merely slow.</summary>
    public static bool Unreachable(Exception? exception) => exception?.GetBaseException() is SocketException { SocketErrorCode: SocketError.TimedOut };

    public static bool Allows(HttpRequest request, Failure failure) => failure switch
    {
        Failure.Connect => true,
        Failure.NoAnswer => IsIdempotent(request.Method) && request.ContentLength is null or 0 && !request.Headers.ContainsKey("Transfer-Encoding"),
        _ => false,
    };

    private static bool IsIdempotent(string method) =>
        HttpMethods.IsGet(method) || HttpMethods.IsHead(method) || HttpMethods.IsOptions(method)
        || HttpMethods.IsTrace(method) || HttpMethods.IsPut(method) || HttpMethods.IsDelete(method);
}
