namespace Flotilla.Router;

/// <summary>
/// The data plane's whole configuration: for each service, the instances that may receive
/// traffic. Built by the control plane from observed state and swapped into the router whole.
/// </summary>
public sealed record RoutingTable(IReadOnlyDictionary<string, IReadOnlyList<RouteDestination>> Services)
{
    public static RoutingTable Empty { get; } = new(new Dictionary<string, IReadOnlyList<RouteDestination>>());

    /// <summary>True when both tables route every service to the same instances.</summary>
    public bool SameAs(RoutingTable other) =>
        Services.Count == other.Services.Count
        && Services.All(s => other.Services.TryGetValue(s.Key, out var o) && s.Value.SequenceEqual(o));
}

/// <summary>One instance behind a service endpoint.</summary>
public sealed record RouteDestination(string InstanceId, int Port);
