using Flotilla.Model;
using Microsoft.AspNetCore.Http;

namespace Flotilla.Router;

/// <summary>
/// Where one endpoint sends a request, precompiled when the routing table changes: all ready
/// instances round-robin, or during a rollout the canary's or the stable side's instances by
/// the split's weight and targeting. A side with no ready instance sends its share to the other.
/// </summary>
internal sealed class ServiceRoutes
{
    // Before Empty: static fields initialize in the order they are written.
    private static readonly Yarp.ReverseProxy.Forwarder.ForwarderRequestConfig DefaultRequestConfig = new() { ActivityTimeout = TimeSpan.FromSeconds(100) };
    private readonly DestinationSet _all;
    private readonly DestinationSet _stable;
    private readonly DestinationSet _canary;
    private readonly DestinationSet _baseline;
    private readonly int _baselineUpTo;
    private readonly TrafficSplit? _split;
    private readonly string _cookie;

    public ServiceRoutes(string service, DestinationState[] destinations, IReadOnlyList<RouteDestination> routes, TrafficSplit? split, Mirror.MirrorPolicy? mirror = null, Mirror.MirrorReport? report = null,
        Functions.FunctionRoute? function = null)
    {
        Function = function;
        RequestConfig = function is null ? DefaultRequestConfig : new() { ActivityTimeout = function.Timeout };
        Mirror = mirror;
        Report = report;
        _all = new DestinationSet(destinations);
        _split = split;
        _cookie = $"flotilla-{service}";
        if (split is null)
        {
            _stable = _canary = _baseline = _all;
            return;
        }
        var canary = new List<DestinationState>();
        var baseline = new List<DestinationState>();
        var stable = new List<DestinationState>();
        for (var i = 0; i < routes.Count; i++)
        {
            (routes[i].Revision == split.Canary ? canary : routes[i].Revision == split.Baseline ? baseline : stable).Add(destinations[i]);
        }
        _canary = new DestinationSet([.. canary]);
        _baseline = new DestinationSet([.. baseline]);
        _stable = new DestinationSet([.. stable]);
        // Buckets [weight, weight + share) go to the baseline: as many users as the canary has, from the stable side.
        _baselineUpTo = split.Baseline is null || baseline.Count == 0 ? 0 : Math.Min(100, split.Weight + Math.Min(split.Weight, 100 - split.Weight));
    }

    public static ServiceRoutes Empty { get; } = new("", [], [], null);


    /// <summary>The destinations for this request; a bucket to remember in a cookie when the user had none.</summary>
    public DestinationSet Choose(HttpContext context, out int? newBucket)
    {
        newBucket = null;
        if (_split is not { } split)
        {
            return _all;
        }
        if (split.Match is { } match && Matches(context.Request, match) || split.Weight >= 100)
        {
            return _canary.IsEmpty ? _stable : _canary;
        }
        if (split.Weight == 0)
        {
            return _stable.IsEmpty ? _canary : _stable;
        }
        var bucket = Bucket(context.Request, split, out newBucket);
        var chosen = bucket < split.Weight ? _canary : bucket < _baselineUpTo ? _baseline : _stable;
        return chosen.IsEmpty ? (chosen == _stable ? _canary : _stable) : chosen;
    }

    public string CookieName => _cookie;

    /// <summary>Set when the endpoint is a function's: requests are held while it has no instance.</summary>
    public Functions.FunctionRoute? Function { get; }

    /// <summary>How long an instance may stay silent before the request gets 504 (a function's timeout; 100 s for a service).</summary>
    public Yarp.ReverseProxy.Forwarder.ForwarderRequestConfig RequestConfig { get; }

    /// <summary>True when no instance at all receives traffic.</summary>
    public bool IsEmpty => _all.IsEmpty;

    /// <summary>A parallel run: sampled requests are copied to the candidate after stable answered.</summary>
    public Mirror.MirrorPolicy? Mirror { get; }

    public Mirror.MirrorReport? Report { get; }

    /// <summary>The split's canary side (a parallel run's candidate).</summary>
    public DestinationSet Candidates => _canary;

    /// <summary>The split's stable side.</summary>
    public DestinationSet StableSide => _stable;

    private static bool Matches(HttpRequest request, TrafficMatch match)
    {
        var value = match.Header is not null ? request.Headers[match.Header].ToString() : request.Cookies[match.Cookie!];
        return !string.IsNullOrEmpty(value) && (match.Value is null || value == match.Value);
    }

    /// <summary>The user's bucket 0..99: from the sticky header's hash, from the router's cookie, or a new random one.</summary>
    private int Bucket(HttpRequest request, TrafficSplit split, out int? newBucket)
    {
        newBucket = null;
        if (split.StickyHeader is not null && request.Headers[split.StickyHeader].ToString() is { Length: > 0 } key)
        {
            return (int)(Fnv1a(key) % 100);
        }
        if (request.Cookies[_cookie] is { } text && int.TryParse(text, out var remembered) && remembered is >= 0 and < 100)
        {
            return remembered;
        }
        var bucket = Random.Shared.Next(100);
        newBucket = bucket;
        return bucket;
    }

    /// <summary>A stable hash (string.GetHashCode changes per process, and the bucket must survive a router restart).</summary>
    private static uint Fnv1a(string text)
    {
        var hash = 2166136261u;
        foreach (var c in text)
        {
            hash = (hash ^ c) * 16777619u;
        }
        return hash;
    }
}
