using Flotilla.Federation;

namespace Flotilla.Tests.Federation;

/// <summary>Federation timings for tests: workers tick, probe and back off in fractions of a second instead of seconds.</summary>
internal static class FastFederation
{
    public static readonly FederationOptions Options = new()
    {
        Tick = TimeSpan.FromMilliseconds(100),
        ProbeInterval = TimeSpan.FromMilliseconds(300),
        FirstBackoff = TimeSpan.FromMilliseconds(200),
        MaxBackoff = TimeSpan.FromSeconds(1),
        ApplyTimeout = TimeSpan.FromMinutes(2),
    };
}
