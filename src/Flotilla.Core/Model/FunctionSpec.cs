namespace Flotilla.Model;

/// <summary>
/// What makes a declared entry of <c>functions:</c> a function rather than a service: how it is
/// triggered, how its instance count follows demand, and how long a request may take. Its
/// instances run as any service's do (same runtimes, probes, logs, releases); only their count is
/// decided by the function autoscaler instead of <c>instances:</c>.
/// </summary>
public sealed record FunctionSpec(FunctionTrigger Trigger, FunctionScale Scale, TimeSpan Timeout, FunctionHold Hold)
{
    public static readonly TimeSpan DefaultTimeout = TimeSpan.FromSeconds(30);

    /// <summary>How a queue message that failed is tried again (queue triggers only).</summary>
    public FunctionRetry Retry { get; init; } = FunctionRetry.Default;
}

/// <summary>
/// What runs a function: requests on a path of its endpoint (<see cref="Http"/>), the messages of a
/// queue (<see cref="Queue"/>), the occurrences of a <see cref="Schedule"/> or the files dropped in
/// a directory (<see cref="Files"/>). All but HTTP are delivered through a queue in the store, each
/// invocation POSTed to the function through its endpoint.
/// </summary>
public sealed record FunctionTrigger(string? Http, string? Queue = null)
{
    public ScheduleTrigger? Schedule { get; init; }

    public FileTrigger? Files { get; init; }

    /// <summary>
    /// The queue a function's invocations go through: the declared one, or for a schedule or a
    /// directory one of its own (named with a '.', which no declared queue can have, so they never mix).
    /// </summary>
    public string? DeliveryQueue(string function) =>
        Queue ?? (Schedule is not null ? $"{function}.schedule" : Files is not null ? $"{function}.files" : null);
}

/// <summary>A failed queue message is tried again after <see cref="Backoff"/>, doubling up to <see cref="MaxBackoff"/>, at most <see cref="Attempts"/> times in all; then it is dead.</summary>
public sealed record FunctionRetry(int Attempts, TimeSpan Backoff, TimeSpan MaxBackoff)
{
    public static FunctionRetry Default { get; } = new(5, TimeSpan.FromSeconds(1), TimeSpan.FromMinutes(1));
}

/// <summary>
/// Demand scaling: between <see cref="Min"/> and <see cref="Max"/> instances, each given about
/// <see cref="Concurrency"/> requests at once; with no request for <see cref="Idle"/> the count
/// falls to <see cref="Min"/> (zero by default).
/// </summary>
public sealed record FunctionScale(int Min, int Max, int Concurrency, TimeSpan Idle)
{
    public static FunctionScale Default { get; } = new(0, 10, 10, TimeSpan.FromSeconds(60));
}

/// <summary>
/// How the router holds requests for a function that has no ready instance: at most
/// <see cref="Pending"/> at once, each for at most <see cref="Budget"/>; past either the request
/// gets 503 with Retry-After (never a hang, never a 502).
/// </summary>
public sealed record FunctionHold(int Pending, TimeSpan Budget)
{
    public static FunctionHold Default { get; } = new(1000, TimeSpan.FromSeconds(30));
}
