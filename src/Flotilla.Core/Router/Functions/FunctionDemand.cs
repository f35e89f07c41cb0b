namespace Flotilla.Router.Functions;

/// <summary>
/// What the router saw of one function since the control plane last asked: the average number of
/// requests it had at once (held ones included: they are demand too), how many are in flight and
/// held now, how many arrived in all, and how long ago the last one ended (null: none yet).
/// </summary>
public sealed record FunctionDemand(string Function, double Concurrency, int InFlight, int Held, long Requests, long? IdleMilliseconds);

/// <summary>
/// Every function's demand, with a <see cref="Sequence"/> that grows each time a request is held
/// for want of an instance: a control plane waiting for a higher one wakes at a cold request.
/// </summary>
public sealed record DemandReport(long Sequence, IReadOnlyList<FunctionDemand> Functions)
{
    public static DemandReport Empty { get; } = new(0, []);
}
