using Flotilla.Model;

namespace Flotilla.Controllers.Queues;

/// <summary>When a queue message that failed its <paramref name="attempts"/>-th try is due again: back-off doubling from <c>retry.backoff</c> up to <c>retry.maxBackoff</c>; null once every attempt is spent (it is dead).</summary>
public static class QueueRetries
{
    public static DateTimeOffset? Next(FunctionRetry retry, int attempts, DateTimeOffset now)
    {
        if (attempts >= retry.Attempts)
        {
            return null;
        }
        var factor = Math.Pow(2, Math.Min(attempts - 1, 30));
        var wait = TimeSpan.FromTicks((long)Math.Min(retry.Backoff.Ticks * factor, retry.MaxBackoff.Ticks));
        return now + wait;
    }

    /// <summary>
    /// How long a delivery may hold a message: the router's whole hold budget (a function at zero
    /// starts first), the function's timeout, and a margin. A second delivery of the same message can
    /// start only after this, when the first one's answer can no longer count.
    /// </summary>
    public static TimeSpan Lease(FunctionSpec function) => function.Hold.Budget + function.Timeout + TimeSpan.FromSeconds(10);
}
