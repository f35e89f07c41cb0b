using Flotilla.Hosting;

namespace Flotilla.Api;

/// <summary>
/// One message of GET /v1/status/stream: the system as GET /v1/status shows it, the release of each
/// service that has one under way (as GET /v1/services/{service}/rollout shows it), and the sequence of
/// the last event recorded, so a client can tell which events it has seen reflected.
/// </summary>
public sealed record LiveStatus(DateTimeOffset At, long LastEvent, SystemView System, IReadOnlyList<RolloutStatus> Releases)
{
    public static LiveStatus Of(ControlPlane plane, DateTimeOffset at)
    {
        var lastEvent = plane.Events.LastSequence;
        var system = SystemView.From(plane.Status());
        var releases = system.Services.Where(s => s.Release is not null).Select(s => plane.Rollout(s.Name)).Where(r => r.Release is not null).ToList();
        return new LiveStatus(at, lastEvent, system, releases);
    }
}
