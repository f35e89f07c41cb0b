using Flotilla.Model;

namespace Flotilla.Router;

/// <summary>
/// The data plane's whole configuration: for each endpoint, the instances that may receive
/// traffic, and for a service in a canary or blue-green rollout how traffic splits between its
/// stable and new revision. Built by the control plane from observed state and swapped into the
/// router whole.
/// </summary>
public sealed record RoutingTable(
    IReadOnlyDictionary<string, IReadOnlyList<RouteDestination>> Services,
    IReadOnlyDictionary<string, TrafficSplit>? Splits = null,
    IReadOnlyDictionary<string, Mirror.MirrorPolicy>? Mirrors = null,
    IReadOnlyDictionary<string, Functions.FunctionRoute>? Functions = null)
{
    /// <summary>The endpoints that are functions' (requests held while they have no instance).</summary>
    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyDictionary<string, Functions.FunctionRoute> FunctionsOrEmpty => Functions ?? NoFunctions;

    private static readonly Dictionary<string, Functions.FunctionRoute> NoFunctions = new(StringComparer.Ordinal);

    public static RoutingTable Empty { get; } = new(new Dictionary<string, IReadOnlyList<RouteDestination>>());

    /// <summary>The endpoint name of a service's preview (blue-green): service names have no dots, so it cannot clash.</summary>
    public static string PreviewOf(string service) => $"{service}.preview";

    /// <summary>The service an endpoint belongs to (itself, or the service whose preview it is).</summary>
    public static string ServiceOf(string endpoint) => endpoint.EndsWith(".preview", StringComparison.Ordinal) ? endpoint[..^".preview".Length] : endpoint;

    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyDictionary<string, TrafficSplit> SplitsOrEmpty => Splits ?? NoSplits;

    private static readonly Dictionary<string, TrafficSplit> NoSplits = new(StringComparer.Ordinal);

    [System.Text.Json.Serialization.JsonIgnore]
    public IReadOnlyDictionary<string, Mirror.MirrorPolicy> MirrorsOrEmpty => Mirrors ?? NoMirrors;

    private static readonly Dictionary<string, Mirror.MirrorPolicy> NoMirrors = new(StringComparer.Ordinal);

    /// <summary>True when both tables route every endpoint to the same instances with the same splits.</summary>
    public bool SameAs(RoutingTable other) =>
        Services.Count == other.Services.Count
        && Services.All(s => other.Services.TryGetValue(s.Key, out var o) && s.Value.SequenceEqual(o))
        && SplitsOrEmpty.Count == other.SplitsOrEmpty.Count
        && SplitsOrEmpty.All(s => other.SplitsOrEmpty.TryGetValue(s.Key, out var o) && s.Value == o)
        && MirrorsOrEmpty.Count == other.MirrorsOrEmpty.Count
        && MirrorsOrEmpty.All(m => other.MirrorsOrEmpty.TryGetValue(m.Key, out var o) && Same(m.Value, o))
        && FunctionsOrEmpty.Count == other.FunctionsOrEmpty.Count
        && FunctionsOrEmpty.All(f => other.FunctionsOrEmpty.TryGetValue(f.Key, out var o) && f.Value == o);

    // Records compare lists by reference; a policy is the same when its values are.
    private static bool Same(Mirror.MirrorPolicy a, Mirror.MirrorPolicy b) =>
        a with { Methods = b.Methods, Headers = b.Headers, Ignore = b.Ignore } == b
        && a.Methods.SequenceEqual(b.Methods) && a.Headers.SequenceEqual(b.Headers) && a.Ignore.SequenceEqual(b.Ignore);
}

/// <summary>One instance behind a service endpoint, and the revision it runs.</summary>
/// <summary>One instance the router may send a request to, at <see cref="Host"/>:<see cref="Port"/> (loopback for local processes and host-network containers; a task's or pod's address on an engine that schedules).</summary>
public sealed record RouteDestination(string InstanceId, int Port, string Revision = "", string Host = "127.0.0.1")
{
    /// <summary>The URL prefix of the instance (an IPv6 address in brackets).</summary>
    public string Prefix => $"http://{(Host.Contains(':') ? $"[{Host}]" : Host)}:{Port}/";
}

/// <summary>
/// How a service's traffic divides during a rollout: <see cref="Weight"/> percent of requests
/// to the <see cref="Canary"/> revision, the rest to the others; requests that match
/// <see cref="Match"/> always reach the canary. A user keeps their side across requests (a
/// cookie the router sets, or a hash of <see cref="StickyHeader"/>). While an analysis compares
/// the canary with a fresh <see cref="Baseline"/> of the stable revision, the baseline gets the
/// same share as the canary, taken from the stable side.
/// </summary>
public sealed record TrafficSplit(string Canary, int Weight, TrafficMatch? Match = null, string? StickyHeader = null, string? Baseline = null);
